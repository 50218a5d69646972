// Live progress without a reload: polls the app's progress JSON and writes numbers with textContent only
// (never innerHTML), so nothing that came from a crawled page can become markup.
(function () {
  "use strict";
  var ACTIVE = { queued: true, running: true };
  var INTERVAL = 1500;

  function num(n) { return Number(n || 0).toLocaleString("en-US"); }
  function duration(s) {
    if (s === null || s === undefined) { return "–"; }
    s = Math.floor(s);
    if (s < 60) { return s + "s"; }
    var m = Math.floor(s / 60), r = s % 60;
    if (m < 60) { return m + "m " + (r < 10 ? "0" : "") + r + "s"; }
    var h = Math.floor(m / 60), mm = m % 60;
    return h + "h " + (mm < 10 ? "0" : "") + mm + "m";
  }
  function set(root, field, text) {
    var el = root.querySelector('[data-field="' + field + '"]');
    if (el && el.textContent !== text) { el.textContent = text; }
  }
  function apply(root, c) {
    set(root, "pages_crawled", num(c.pages_crawled));
    set(root, "links_checked", num(c.links_checked));
    set(root, "broken", num(c.broken));
    set(root, "elapsed", duration(c.duration_seconds));
    var badge = root.querySelector('[data-field="state"]');
    if (badge && badge.textContent !== c.state) {
      badge.textContent = c.state;
      badge.className = "badge state-" + c.state;
    }
    root.setAttribute("data-state", c.state);
  }
  function getJSON(url, done, fail) {
    fail = fail || function () {};
    var xhr = new XMLHttpRequest();
    xhr.open("GET", url);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.onload = function () {
      if (xhr.status !== 200) { fail(); return; }
      var data;
      try { data = JSON.parse(xhr.responseText); } catch (e) { fail(); return; }  // e.g. the login page
      done(data);
    };
    xhr.onerror = fail;
    xhr.send();
  }

  // Home page: the crawl table.
  var table = document.getElementById("crawls");
  if (table) {
    var page = table.getAttribute("data-page") || "1";
    var tick = function () {
      var rows = table.querySelectorAll("tr[data-crawl]");
      var active = Array.prototype.some.call(rows, function (r) { return ACTIVE[r.getAttribute("data-state")]; });
      if (!active) { return; }
      getJSON("/progress?page=" + encodeURIComponent(page), function (data) {
        data.crawls.forEach(function (c) {
          var row = table.querySelector('tr[data-crawl="' + c.id + '"]');
          if (row) { apply(row, c); }
        });
      });
      window.setTimeout(tick, INTERVAL);
    };
    window.setTimeout(tick, INTERVAL);
  }

  // Report page: the summary box; reload once when the crawl ends so the tables are complete.
  var head = document.getElementById("crawl");
  if (head && ACTIVE[head.getAttribute("data-state")]) {
    var note = document.getElementById("live-note");
    note.hidden = false;
    note.textContent = "The crawl is running: these numbers update live; the lists below show what was found when the page loaded.";
    var poll = function () {
      getJSON(head.getAttribute("data-api"), function (c) {
        apply(head, c);
        if (!ACTIVE[c.state]) {
          note.textContent = "The crawl " + c.state + ". Loading the full report…";
          window.setTimeout(function () { window.location.reload(); }, 300);
        } else {
          window.setTimeout(poll, INTERVAL);
        }
      }, function () { window.setTimeout(poll, INTERVAL * 4); });
    };
    window.setTimeout(poll, INTERVAL);
  }

  // Confirmation for destructive forms (no inline handlers: the Content-Security-Policy forbids them).
  Array.prototype.forEach.call(document.querySelectorAll("form.confirm"), function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { ev.preventDefault(); }
    });
  });
})();
