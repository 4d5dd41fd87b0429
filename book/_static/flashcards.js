/* Mock-interview flashcards (book/back/flashcards.md; HTML from tools/flashcards.py).
 *
 * Without this script every card is shown in full, in the book's order (and so in print). With it,
 * one card at a time: its question; "Reveal answer" shows the interview answer; then each
 * follow-up's question, then its answer and proof link. Buttons: the step button, previous, next,
 * shuffle; a counter and a timer. Keys: Space/Enter next step, → or N next card, ← or P previous,
 * S shuffle. The current card is kept in the address (#card-ch07), so the back button returns to it
 * after following a proof link. No third-party code.
 */
(function () {
  "use strict";

  function setup() {
    var deck = document.getElementById("fc-deck");
    if (!deck || deck.classList.contains("fc-js")) return;
    var cards = Array.prototype.slice.call(deck.querySelectorAll(".fc-card"));
    if (!cards.length) return;
    var order = cards.map(function (_, i) { return i; });
    var pos = 0, step = 0, started = Date.now();

    function button(label, cls, title, onclick) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "fc-btn " + cls;
      b.textContent = label;
      if (title) b.title = title;
      b.addEventListener("click", onclick);
      return b;
    }

    var bar = document.createElement("div");
    bar.className = "fc-toolbar";
    bar.setAttribute("role", "group");
    bar.setAttribute("aria-label", "Flashcard controls");
    var stepBtn = button("Reveal answer", "fc-step", "Next step (Space or Enter)", function () { advance(); });
    var prevBtn = button("← Prev", "fc-prev", "Previous card (← or P)", function () { go(pos - 1); });
    var shuffleBtn = button("Shuffle", "fc-shuffle", "Shuffle the cards (S)", function () { shuffle(); });
    var nextBtn = button("Next →", "fc-next", "Next card (→ or N)", function () { go(pos + 1); });
    var status = document.createElement("span");
    status.className = "fc-status";
    var counter = document.createElement("span");
    counter.className = "fc-counter";
    counter.setAttribute("aria-live", "polite");
    var timer = document.createElement("span");
    timer.className = "fc-timer";
    timer.setAttribute("aria-label", "time on this card");
    status.appendChild(counter);
    status.appendChild(document.createTextNode(" · "));
    status.appendChild(timer);
    var row = document.createElement("div");
    row.className = "fc-row";
    [prevBtn, shuffleBtn, nextBtn].forEach(function (b) { row.appendChild(b); });
    bar.appendChild(stepBtn);
    bar.appendChild(row);
    bar.appendChild(status);
    deck.appendChild(bar);
    deck.classList.add("fc-js");

    function current() { return cards[order[pos]]; }
    function followups(card) { return card.querySelectorAll(".fc-fu"); }
    function lastStep(card) { return 1 + 2 * followups(card).length; }

    function render() {
      var card = current(), fus = followups(card), n = fus.length;
      cards.forEach(function (c) { c.classList.remove("fc-current"); });
      card.classList.add("fc-current");
      card.classList.toggle("fc-step-answer", step >= 1);
      card.classList.toggle("fc-step-followups", step >= 2);
      for (var j = 0; j < n; j++) {
        fus[j].classList.toggle("fc-fu-shown", step >= 2 + 2 * j);
        fus[j].classList.toggle("fc-fu-answered", step >= 3 + 2 * j);
      }
      if (step === 0) stepBtn.textContent = "Reveal answer";
      else if (step >= lastStep(card)) stepBtn.textContent = pos + 1 < order.length ? "Next card" : "Start again";
      else if (step % 2 === 1) stepBtn.textContent = "Follow-up " + ((step + 1) / 2) + " of " + n;
      else stepBtn.textContent = "Show its answer";
      counter.textContent = "Card " + (pos + 1) + " of " + order.length;
      prevBtn.disabled = pos === 0;
      nextBtn.disabled = pos + 1 >= order.length;
      deck.setAttribute("data-order", order.map(function (i) { return cards[i].id; }).join(" "));
      deck.setAttribute("data-step", String(step));
      tick();
    }

    function tick() {
      var s = Math.floor((Date.now() - started) / 1000);
      timer.textContent = Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
    }

    function go(p) {
      if (p < 0 || p >= order.length) return;
      pos = p;
      step = 0;
      started = Date.now();
      render();
      var card = current();
      if (window.history && history.replaceState) history.replaceState(null, "", "#" + card.id);
      if (card.getBoundingClientRect().top < 0) card.scrollIntoView({ block: "start" });
    }

    function advance() {
      var card = current();
      if (step >= lastStep(card)) { go(pos + 1 < order.length ? pos + 1 : 0); return; }
      step += 1;
      render();
      var shown = card.querySelectorAll(".fc-fu.fc-fu-shown");
      // the answer is read with its question: keep the card's top on screen if it fits
      if (step === 1) reveal(card.querySelector(".fc-answer"), card);
      else reveal(shown[shown.length - 1]);
    }

    // Scroll just enough to show what was revealed above the controls, never past the top of
    // `top` (the revealed element itself by default).
    function reveal(el, top) {
      if (!el) return;
      var r = el.getBoundingClientRect(), limit = window.innerHeight - bar.offsetHeight - 8;
      var t = (top || el).getBoundingClientRect().top;
      if (r.bottom > limit) window.scrollBy(0, Math.max(0, Math.min(r.bottom - limit, t - 72)));
    }

    function shuffle() {
      var before = order.join(",");
      do {   // Fisher–Yates; a draw equal to the current order is drawn again
        for (var i = order.length - 1; i > 0; i--) {
          var j = Math.floor(Math.random() * (i + 1)), t = order[i];
          order[i] = order[j];
          order[j] = t;
        }
      } while (order.length > 1 && order.join(",") === before);
      go(0);
    }

    document.addEventListener("keydown", function (e) {
      if (e.altKey || e.ctrlKey || e.metaKey || e.defaultPrevented) return;
      var t = e.target, tag = (t && t.tagName) || "";
      if (/^(INPUT|TEXTAREA|SELECT)$/.test(tag) || (t && t.isContentEditable)) return;
      var onControl = /^(BUTTON|A|SUMMARY|LABEL)$/.test(tag);
      var k = e.key;
      if (k === " " || k === "Enter") {
        if (onControl) return;          // the focused control does its own thing
        advance();
      } else if (k === "ArrowRight" || k === "n" || k === "N") {
        go(pos + 1);
      } else if (k === "ArrowLeft" || k === "p" || k === "P") {
        go(pos - 1);
      } else if (k === "s" || k === "S") {
        shuffle();
      } else {
        return;
      }
      e.preventDefault();
    });

    var start = location.hash ? cards.indexOf(document.getElementById(location.hash.slice(1))) : -1;
    pos = start > 0 ? start : 0;
    render();
    setInterval(tick, 1000);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
