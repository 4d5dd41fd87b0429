"""The interview drill on the built site (book/back/drill.html), network off: the page's own
script (book/_static/drill.js, as served) is held against cnnlib — its formulas on thousands of
random cases, the problems its generator draws, its answer check on many typed answers — and a
reader plays it at desktop and phone width. Screenshots: _build/screenshots/*drill*.png."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import cnnlib
from cnnlib import drill
from _site import DESKTOP, PHONE, shot

PAGE = "book/back/drill.html"
N_CASES = 1600          # random formula cases (≥ 1,000 asked)


def _call(fn, *args):
    """cnnlib's value as JSON would carry it, or 'error' where cnnlib refuses the arguments."""
    try:
        out = fn(*args)
    except (ValueError, TypeError):
        return "error"
    if isinstance(out, Fraction):
        return float(out)
    if isinstance(out, list):           # receptive_field: one record per layer
        return [[r.size, r.jump, float(r.start)] for r in out]
    return out


def formula_cases(rng, n=N_CASES):
    """Random arguments for every formula of the port, over every option and its edges
    (tiny inputs, kernels larger than the input, dilation, ceil_mode, output_padding, groups
    that do not divide, bias, 'same'/'valid', tuples, stacks of 1–6 layers)."""
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    pick = lambda seq: seq[int(rng.integers(len(seq)))]  # noqa: E731
    size = lambda: pick([r(1, 20), r(1, 20), pick([28, 56, 112, 224, 227, 299, 512])])  # noqa: E731
    makers = {
        "conv_output_size": lambda: [size(), r(1, 11), r(1, 4),
                                     pick([r(0, 5), r(0, 5), "same", "valid"]), r(1, 4)],
        "conv_transpose_output_size": lambda: [size(), r(1, 7), r(1, 4), r(0, 4), r(0, 3),
                                               r(1, 3)],
        "pool_output_size": lambda: [size(), r(1, 7), pick([None, r(1, 4), r(1, 4)]), r(0, 3),
                                     r(1, 3), pick([True, False])],
        "conv_params": lambda: [pick([3, r(1, 12), 64, 256, 512]), pick([r(1, 12), 64, 128, 512]),
                                pick([r(1, 7), [r(1, 7), r(1, 7)], [r(1, 5)], [3, 3, 3]]),
                                pick([1, 1, r(1, 8), 32]), pick([True, False])],
        "conv_macs": lambda: [pick([3, r(1, 12), 64, 512]), pick([r(1, 12), 128, 512]),
                              pick([r(1, 7), [r(1, 7), r(1, 7)]]),
                              pick([r(1, 224), [r(1, 56), r(1, 56)]]), pick([1, 1, r(1, 8)])],
        "separable_cost_ratio": lambda: [pick([r(1, 1024), 32, 64, 128, 512]),
                                         pick([r(1, 11), [r(1, 7), r(1, 7)]])],
        "receptive_field": lambda: [[[r(1, 7), r(1, 3), r(0, 3), r(1, 4)][:pick([2, 3, 4, 4])]
                                     for _ in range(r(1, 6))]],
        "activation_bytes": lambda: [[r(1, 256), pick([64, 128, r(1, 512)]), r(1, 224),
                                      r(1, 224)],
                                     pick(["float32", "float16", "bfloat16", "int8"])],
    }
    calculators = {"conv_output_size": cnnlib.conv_output_size,
                   "conv_transpose_output_size": cnnlib.conv_transpose_output_size,
                   "pool_output_size": cnnlib.pool_output_size,
                   "conv_params": cnnlib.conv_params, "conv_macs": cnnlib.conv_macs,
                   "separable_cost_ratio": cnnlib.separable_cost_ratio,
                   "receptive_field": lambda layers: cnnlib.receptive_field(
                       [tuple(layer) for layer in layers]),
                   "activation_bytes": lambda shape, dtype: drill.activation_bytes(
                       tuple(shape), dtype)}
    names = list(makers)
    cases = []
    for i in range(n):
        name = names[i % len(names)]
        args = makers[name]()
        cases.append({"fn": name, "args": args, "expected": _call(calculators[name], *args)})
    return cases


@pytest.fixture(scope="module")
def drill_page(browser, server):
    """One page (desktop), shared by the comparisons; closed at the end, checked clean."""
    from _site import Visit
    v = Visit(browser, server, DESKTOP)
    page = v.open(f"{PAGE}?seed=1")
    page.wait_for_function("() => window.cnnDrill && window.cnnDrill.current")
    yield v, page
    v.check_clean(PAGE)
    v.close()


def test_js_formulas_equal_cnnlib(drill_page):
    _, page = drill_page
    cases = formula_cases(np.random.default_rng(2026))
    got = page.evaluate("""cases => cases.map(c => {
        try {
            const out = window.cnnDrill.formulas[c.fn](...c.args);
            return Array.isArray(out) ? out.map(r => [r.size, r.jump, r.start]) : out;
        } catch (e) { return "error"; }
    })""", cases)
    assert len(got) == len(cases) >= 1000
    wrong = []
    for case, js in zip(cases, got):
        exp = case["expected"]
        if case["fn"] == "separable_cost_ratio" and exp != "error":
            ok = isinstance(js, float) and abs(js - exp) <= 1e-12 * exp
        else:
            ok = js == exp and type(js) is type(exp)
        if not ok:
            wrong.append((case["fn"], case["args"], exp, js))
    assert not wrong, f"{len(wrong)} of {len(cases)} differ, e.g. {wrong[:5]}"
    # the cases reach every branch: valid and refused configurations of every formula
    fns = {c["fn"] for c in cases}
    refused = {c["fn"] for c in cases if c["expected"] == "error"}
    assert len(fns) == 8 and {"conv_output_size", "conv_transpose_output_size",
                              "pool_output_size", "conv_params", "conv_macs"} <= refused
    assert any(c["fn"] == "pool_output_size" and c["args"][5] and c["expected"] != "error"
               and c["expected"] != _call(cnnlib.pool_output_size, *c["args"][:5], False)
               for c in cases), "no case where ceil_mode changes the size"


def _solve(p):
    """cnnlib's answer to a problem the page drew (JSON: null stride, [num, den] ratio)."""
    return drill.solve(p["kind"], p["args"])


def _same(answer, js):
    return answer == (Fraction(*js) if isinstance(js, list) else js)


def test_js_problems_are_answered_as_cnnlib_answers(drill_page):
    _, page = drill_page
    problems = page.evaluate("""() => {
        const rand = window.cnnDrill.makeRng(7), out = [];
        for (const kind of Object.keys(window.cnnDrill.KINDS))
            for (let i = 0; i < 40; i++) out.push(window.cnnDrill.generate(kind, rand));
        for (let i = 0; i < 100; i++) out.push(window.cnnDrill.generate(null, rand));
        return out;
    }""")
    assert {p["kind"] for p in problems} == set(drill.KINDS)
    for p in problems:
        assert _same(_solve(p), p["answer"]), p
        assert all(len(line) <= 80 for line in p["working"].splitlines()), p["working"]
        py_text, py_working = drill._TEXT[p["kind"]](p["args"], _solve(p))
        assert p["text"] == py_text, (p["text"], py_text)
        assert p["working"] == py_working, (p["working"], py_working)


def test_js_check_agrees_with_python(drill_page):
    _, page = drill_page
    rng = np.random.default_rng(3)
    answers = [86704128, 56, 25690112, Fraction(73, 576), Fraction(433, 18816), 1024, 7]
    answers += [drill.generate(None, rng).answer for _ in range(60)]
    texts = ["86704128", "86,704,128", "86 704 128", "86.7M", "87M", "90M", "86.8M", "8.67e7",
             "8670万", "0.0867G", "86.7", "56", "56.0", "5.6e1", "56 px", "55", "25.7MB",
             "24.5 MiB", "25088 KiB", "26MB", "73/576", "146/1152", "0.127", "12.7%", ".127",
             "0.13", "1/9", "1.27e-1", "0.0230", "0.023", "433/18816", "1,024", "1.0k", "1k",
             "1.02k", "1 KiB", "7", "7.0", "", "abc", "-7", "1/0", "12,34", "99999999999999999999",
             "1e999", "0.000000000000000000001", "1e-3%", "86.7 million", "87 million FLOPs",
             "0.0867 billion", "86704 thousand", "86.7m", "24.5 MB", "1 thousand"]
    pairs = []
    for ans in answers:
        own = ([f"{ans.numerator}/{ans.denominator}", f"{float(ans):#.3g}",
                f"{float(ans):.2g}", f"{100 * float(ans):#.3g}%"] if isinstance(ans, Fraction)
               else [str(ans), f"{ans:,}", str(ans + 1), f"{ans / 1e6:.3g}M", f"{ans / 1e6:.1g}M",
                     f"{ans / 2**20:.3g} MiB", f"{ans:.2e}"])
        for text in texts[:8] + own:
            pairs.append((ans, text))
    js = page.evaluate("""pairs => pairs.map(([a, t]) => window.cnnDrill.check(a, t))""",
                       [[[a.numerator, a.denominator] if isinstance(a, Fraction) else a, t]
                        for a, t in pairs])
    py = [drill.check(drill.Problem("x", "", a, "", "", {}), t) for a, t in pairs]
    py += [drill.check(drill.Problem("x", "", a, "", "", {}), t)
           for a in answers[:7] for t in texts]
    js += page.evaluate("""pairs => pairs.map(([a, t]) => window.cnnDrill.check(a, t))""",
                        [[[a.numerator, a.denominator] if isinstance(a, Fraction) else a, t]
                         for a in answers[:7] for t in texts])
    differ = [(p, j) for p, j in zip(pairs + [(a, t) for a in answers[:7] for t in texts],
                                     zip(py, js)) if j[0] != j[1]]
    assert not differ, differ[:10]
    assert sum(py) > 50 and len(py) - sum(py) > 50      # both verdicts well represented


def _answer_text(answer):
    return f"{answer.numerator}/{answer.denominator}" if isinstance(answer, Fraction) \
        else f"{answer:,}"


def _wrong_text(answer):
    return f"{answer.numerator + 1}/{answer.denominator}" if isinstance(answer, Fraction) \
        else str(answer + 1)


def play(page, name):
    """Answer one problem right (Enter) and the next wrong (Check button); return the verdicts."""
    current = lambda: page.evaluate("() => window.cnnDrill.current")  # noqa: E731
    first = current()
    question = page.inner_text("#cnn-drill-question")
    assert question == first["text"]
    page.fill("#cnn-drill-answer", _answer_text(_solve(first)))
    page.press("#cnn-drill-answer", "Enter")
    verdict = page.locator(".cnn-drill-verdict")
    assert "is-right" in verdict.get_attribute("class") and "Right" in verdict.inner_text()
    assert page.locator(".cnn-drill-working").is_visible()
    shot(page, f"{name}-right")
    page.click("button.cnn-drill-new")
    second = current()
    assert second != first and page.inner_text("#cnn-drill-question") == second["text"]
    assert not page.locator(".cnn-drill-working").is_visible()
    page.fill("#cnn-drill-answer", _wrong_text(_solve(second)))
    page.click("button.cnn-drill-check")
    assert "is-wrong" in verdict.get_attribute("class") and "Wrong" in verdict.inner_text()
    working = page.locator(".cnn-drill-working")
    assert working.is_visible() and working.inner_text() == second["working"]
    assert _answer_text(_solve(second)).split("/")[0] in verdict.inner_text()
    assert page.inner_text(".cnn-drill-score") == "Score: 1 right of 2 answered"
    shot(page, f"{name}-wrong")
    return first, second


def test_a_reader_plays_the_drill(visit):
    v = visit(DESKTOP)
    page = v.open(f"{PAGE}?seed=5")
    page.wait_for_function("() => window.cnnDrill && window.cnnDrill.current")
    page.locator("#cnn-drill").scroll_into_view_if_needed()
    play(page, "desktop-drill")
    # choosing a kind draws a problem of that kind at once
    page.select_option("#cnn-drill-kind", "receptive_field")
    assert page.evaluate("() => window.cnnDrill.current.kind") == "receptive_field"
    assert "Receptive field" in page.inner_text("#cnn-drill-question")
    # an unreadable answer is wrong and says so
    page.fill("#cnn-drill-answer", "seven")
    page.press("#cnn-drill-answer", "Enter")
    assert "could not read" in page.inner_text(".cnn-drill-verdict")
    v.check_clean(f"{PAGE} (played)")


def test_the_drill_on_a_phone(visit):
    v = visit(PHONE)
    page = v.open(f"{PAGE}?seed=9")
    page.wait_for_function("() => window.cnnDrill && window.cnnDrill.current")
    page.locator("#cnn-drill").scroll_into_view_if_needed()
    shot(page, "phone-drill-start")
    answer = page.locator("#cnn-drill-answer")
    assert answer.get_attribute("inputmode") == "decimal"
    assert page.locator(".cnn-drill-verdict").get_attribute("aria-live") == "polite"
    for control in ("#cnn-drill-kind", "#cnn-drill-answer", "button.cnn-drill-new",
                    "button.cnn-drill-check"):
        box = page.locator(control).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, (control, box)
        assert box["height"] >= 44, f"{control} is {box['height']}px tall: not thumb-sized"
        label = page.evaluate("""sel => { const e = document.querySelector(sel);
            return e.tagName === 'BUTTON' ? e.textContent : (e.labels[0] || {}).textContent; }""",
                              control)
        assert label and label.strip(), f"{control} has no label"
    play(page, "phone-drill")
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1] + 1, f"the drill page scrolls sideways at 390 px: {width}"
    page.locator(".cnn-drill-working").scroll_into_view_if_needed()
    shot(page, "phone-drill-working")
    v.check_clean(f"{PAGE} (phone)")
