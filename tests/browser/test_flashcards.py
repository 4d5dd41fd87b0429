"""The flashcards page on the built site, used as a reader would: keys and buttons, one card at a
time, the follow-ups one by one, a proof link that lands on its section, shuffle, the phone width,
the page without JavaScript and in print, and the Anki deck's download link (tools/flashcards.py,
book/_static/flashcards.js). Every visit only reaches 127.0.0.1."""
from __future__ import annotations

import re
import sys

from _site import DESKTOP, PHONE, ROOT, shot, wait_for_math

sys.path.insert(0, str(ROOT / "tools"))
import cards as cardlib  # noqa: E402

PAGE = "book/back/flashcards.html"
CARDS = cardlib.extract(ROOT)
CJK = re.compile(r"[\u3400-\u9fff]")

STATE = """() => {
    const d = document.getElementById('fc-deck');
    const shown = [...d.querySelectorAll('.fc-card')].filter(c => c.offsetParent !== null);
    return {order: d.dataset.order.split(' '), step: +d.dataset.step,
            current: d.querySelector('.fc-card.fc-current').id, shown: shown.map(c => c.id),
            counter: d.querySelector('.fc-counter').textContent};
}"""


def state(page):
    return page.evaluate(STATE)


def current(page):
    return page.locator(".fc-card.fc-current")


def test_reveal_followups_proof_next_and_shuffle(visit):
    v = visit(DESKTOP)
    page = v.open(PAGE)
    book_order = [f"card-{c.slug}" for c in CARDS]
    s = state(page)
    assert s["order"] == book_order and s["shown"] == [book_order[0]] and s["step"] == 0
    assert s["counter"] == f"Card 1 of {len(CARDS)}"

    # the question, in both languages; nothing else yet
    card = current(page)
    assert card.locator(".fc-q-en").inner_text().strip().startswith(CARDS[0].question_en[:20])
    assert CJK.search(card.locator(".fc-q-zh").inner_text())
    assert not card.locator(".fc-answer").is_visible()
    assert not card.locator(".fc-followups").is_visible()

    # Space (focus on the page, not on a button) reveals the answer: English tab, then 中文
    page.keyboard.press("Space")
    assert card.locator(".fc-answer").is_visible()
    assert not card.locator(".fc-followups").is_visible()
    assert "Follow-up 1 of" in page.locator(".fc-step").inner_text()
    card.locator(".fc-answer label", has_text="中文").click()
    panel = card.locator(".fc-answer .sd-tab-content").nth(1)
    assert panel.is_visible() and CJK.search(panel.inner_text())
    page.evaluate("document.activeElement.blur()")   # keys go to the page again

    # then each follow-up: its question first (Enter), then its answer with the proof link (Space)
    items = card.locator("li.fc-fu")
    assert items.count() == len(CARDS[0].followups)
    for j in range(items.count()):
        page.keyboard.press("Enter")
        assert items.nth(j).locator(".fc-fu-q").is_visible()
        assert not items.nth(j).locator(".fc-fu-a").is_visible()
        if j + 1 < items.count():
            assert not items.nth(j + 1).is_visible()
        page.keyboard.press("Space")
        assert items.nth(j).locator(".fc-fu-a").is_visible()
        assert items.nth(j).locator(".fc-fu-a a").first.is_visible()
    assert page.locator(".fc-step").inner_text() == "Next card"
    proof = items.nth(0).locator(".fc-fu-a a").first.get_attribute("href")
    assert proof.split("#", 1)[1] == CARDS[0].followups[0].proofs[0]

    # next / previous with the keys and the buttons
    page.keyboard.press("ArrowRight")
    s = state(page)
    assert s["current"] == book_order[1] and s["step"] == 0 and s["shown"] == [book_order[1]]
    assert not current(page).locator(".fc-answer").is_visible()
    page.keyboard.press("n")
    assert state(page)["current"] == book_order[2]
    page.keyboard.press("ArrowLeft")
    assert state(page)["current"] == book_order[1]
    page.locator(".fc-next").click()
    s = state(page)
    assert s["current"] == book_order[2] and s["counter"] == f"Card 3 of {len(CARDS)}"
    assert page.evaluate("location.hash") == f"#{book_order[2]}"
    page.locator(".fc-prev").click()
    assert state(page)["current"] == book_order[1]
    page.locator(".fc-step").click()            # a button: the focused button takes Space itself
    page.keyboard.press("Space")
    assert state(page)["step"] == 2

    # shuffle: a new order of the same cards, starting at its first card
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("s")
    s = state(page)
    assert s["order"] != book_order and sorted(s["order"]) == sorted(book_order)
    assert s["current"] == s["order"][0] and s["step"] == 0 and s["counter"].startswith("Card 1 of")
    page.locator(".fc-shuffle").click()
    assert state(page)["order"] != s["order"]

    math = wait_for_math(page)
    assert math[0] and math[1] == math[0] and math[2] == 0, math
    v.check_clean("flashcards page")

    # the proof link lands on its section in the chapter
    page.goto(f"{v.base}/book/back/{proof}", wait_until="load")
    label = proof.split("#", 1)[1]
    assert page.locator(f"[id='{label}']").count() == 1
    assert page.evaluate("location.pathname").endswith(CARDS[0].docname.split("/")[-1] + ".html")


def test_phone(visit):
    v = visit(PHONE)
    page = v.open(PAGE)
    page.locator("#fc-deck").scroll_into_view_if_needed()
    shot(page, "flashcards-phone-question")
    steps = 1 + 2 * len(CARDS[0].followups)
    for i in range(steps):
        page.locator(".fc-step").click()
        if i in (0, steps - 1):
            shot(page, f"flashcards-phone-step{i + 1}")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        for b in page.locator(".fc-toolbar button").all():
            box = b.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
            assert box["height"] >= 44 and box["width"] >= 44, box
        step = page.locator(".fc-step").bounding_box()
        assert 0 <= step["y"] and step["y"] + step["height"] <= PHONE["height"], step
    assert page.locator(".fc-step").inner_text() == "Next card"
    v.check_clean("flashcards page at 390 px")


def test_deck_download(visit):
    v = visit(DESKTOP)
    page = v.open(PAGE)
    link = page.locator("a.fc-deck-link")
    assert link.inner_text() == "Download the Anki deck"
    status, magic, size = page.evaluate("""async (href) => {
        const r = await fetch(href);
        const b = new Uint8Array(await r.arrayBuffer());
        return [r.status, String.fromCharCode(b[0], b[1]), b.length];
    }""", link.get_attribute("href"))
    assert status == 200 and magic == "PK" and size > 10_000
    v.check_clean("Anki deck download")


def local_only(route):
    return route.continue_() if route.request.url.startswith("http://127.0.0.1") else route.abort()


def test_without_javascript_and_in_print(browser, server):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    context.route("**/*", local_only)
    try:
        page = context.new_page()
        page.goto(f"{server}/{PAGE}", wait_until="load")
        assert page.locator(".fc-card").count() == len(CARDS)
        assert page.locator(".fc-toolbar").count() == 0
        last = page.locator(".fc-card").last
        assert last.locator(".fc-answer").is_visible() and last.locator(".fc-fu-a").last.is_visible()
    finally:
        context.close()
    context = browser.new_context(viewport=DESKTOP)
    context.route("**/*", local_only)
    try:
        page = context.new_page()
        page.goto(f"{server}/{PAGE}", wait_until="load")
        page.wait_for_selector(".fc-toolbar")
        page.emulate_media(media="print")
        shown = page.evaluate("[...document.querySelectorAll('.fc-card')].filter(c => c.offsetParent).length")
        assert shown == len(CARDS)
        assert not page.locator(".fc-toolbar").is_visible()
        assert page.locator(".fc-card").last.locator(".fc-fu-a").last.is_visible()
    finally:
        context.close()
