/* ablate report: gallery tabs, and a sortable, filterable runs table. No libraries. */
(function () {
  "use strict";
  // Gallery: one tab per method; every [data-method] element shows for its method only.
  var gallery = document.getElementById("gallery");
  var tabs = gallery ? Array.prototype.slice.call(gallery.querySelectorAll('[role="tab"]')) : [];
  function select(tab) {
    var m = tab.getAttribute("data-method-tab");
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
    });
    gallery.querySelectorAll("[data-method]").forEach(function (el) {
      el.hidden = el.getAttribute("data-method") !== m;
    });
    document.getElementById("gallery-panel").setAttribute("aria-labelledby", tab.id);
  }
  tabs.forEach(function (tab, i) {
    tab.addEventListener("click", function () { select(tab); });
    tab.addEventListener("keydown", function (e) {  // arrow keys move between tabs
      var step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      var next = tabs[(i + step + tabs.length) % tabs.length];
      select(next);
      next.focus();
    });
  });

  // Runs table: a header click sorts (numbers as numbers, blanks last), again reverses.
  var table = document.getElementById("runs-table");
  if (!table) return;
  var body = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  heads.forEach(function (th, col) {
    th.querySelector("button").addEventListener("click", function () {
      var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      var numeric = th.hasAttribute("data-numeric");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-v"), y = b.cells[col].getAttribute("data-v");
        if (x === "" || y === "") return (x === "") - (y === "");
        if (numeric) return dir * (parseFloat(x) - parseFloat(y));
        return dir * x.localeCompare(y, undefined, { numeric: true });
      });
      rows.forEach(function (r) { body.appendChild(r); });
      heads.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
      th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    });
  });
  // Filter: rows whose text contains every word typed (case-insensitive).
  var input = document.getElementById("runs-filter"), count = document.getElementById("runs-count");
  input.addEventListener("input", function () {
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean), shown = 0;
    Array.prototype.forEach.call(body.rows, function (r) {
      var text = r.textContent.toLowerCase();
      r.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
      shown += r.hidden ? 0 : 1;
    });
    count.textContent = shown + " of " + body.rows.length + " runs";
  });
})();
