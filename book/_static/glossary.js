/* Glossary page: a filter box over the generated entries (English or Chinese, as you type).
   Loaded only on the page that holds the glossary (tools/glossary.py); no dependencies. */
(function () {
  "use strict";
  function setup() {
    var root = document.querySelector("div.cnn-glossary");
    if (!root) return;
    var entries = Array.prototype.slice.call(root.querySelectorAll("li.cnn-glossary-entry"));
    var groups = Array.prototype.slice.call(root.querySelectorAll("div.cnn-glossary-letter"));
    var box = document.createElement("div");
    box.className = "cnn-glossary-filter";
    var label = document.createElement("label");
    label.setAttribute("for", "cnn-glossary-q");
    label.textContent = "Filter";
    var input = document.createElement("input");
    input.type = "search";
    input.id = "cnn-glossary-q";
    input.placeholder = "English or 中文, e.g. stride or 步长";
    input.autocomplete = "off";
    var status = document.createElement("p");
    status.className = "cnn-glossary-status";
    status.setAttribute("aria-live", "polite");
    box.appendChild(label);
    box.appendChild(input);
    root.insertBefore(box, root.firstChild);
    root.insertBefore(status, box.nextSibling);
    var keys = entries.map(function (li) {
      var parts = li.querySelectorAll(
        "strong, .cnn-glossary-abbr, .cnn-glossary-zh, .cnn-glossary-also");
      return Array.prototype.map.call(parts, function (n) { return n.textContent; })
        .join(" ").toLowerCase();
    });
    function show(total) {
      status.textContent = total === entries.length
        ? entries.length + " terms."
        : total + " of " + entries.length + " terms.";
    }
    function apply() {
      var q = input.value.trim().toLowerCase();
      var total = 0;
      entries.forEach(function (li, i) {
        var hit = !q || keys[i].indexOf(q) !== -1;
        li.hidden = !hit;
        if (hit) total += 1;
      });
      groups.forEach(function (g) {
        g.hidden = !g.querySelector("li.cnn-glossary-entry:not([hidden])");
        var jump = root.querySelector('p.cnn-glossary-letters a[href="#' + g.id + '"]');
        if (jump) jump.hidden = g.hidden;     // the letter bar lists only letters with matches
      });
      show(total);
    }
    input.addEventListener("input", apply);
    var count = root.querySelector(".cnn-glossary-count");
    if (count) count.hidden = true;
    show(entries.length);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
