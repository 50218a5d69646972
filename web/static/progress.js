// Live progress without a reload. The home page polls the app's progress JSON and writes numbers with
// textContent only (never innerHTML), so nothing that came from a crawled page can become markup; the
// report page swaps in its server-rendered live parts (below).
(function () {
  "use strict";
  var ACTIVE = { queued: true, running: true };
  var INTERVAL = 1000;

  function num(n) { return Number(n || 0).toLocaleString("en-US"); }
  function set(root, field, text) {
    var el = root.querySelector('[data-field="' + field + '"]');
    if (el && el.textContent !== text) { el.textContent = text; }
  }
  function apply(root, c) {
    set(root, "pages_crawled", num(c.pages_crawled));
    set(root, "links_checked", num(c.links_checked));
    set(root, "dead", num(c.dead));
    set(root, "elapsed", c.elapsed);  // formatted by the server, as the page it updates
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
    var origin = table.getAttribute("data-origin") || "";  // "check": the list of linkpatrol check's crawls
    var tick = function () {
      var rows = table.querySelectorAll("tr[data-crawl]");
      var active = Array.prototype.some.call(rows, function (r) { return ACTIVE[r.getAttribute("data-state")]; });
      if (!active) { return; }
      var query = "/progress?page=" + encodeURIComponent(page) + (origin ? "&origin=" + encodeURIComponent(origin) : "");
      getJSON(query, function (data) {
        data.crawls.forEach(function (c) {
          var row = table.querySelector('tr[data-crawl="' + c.id + '"]');
          if (row) { apply(row, c); }
        });
      });
      window.setTimeout(tick, INTERVAL);
    };
    window.setTimeout(tick, INTERVAL);
  }

  // Report page: while the crawl runs, its live parts (every number, the tabs' counts, the list shown)
  // are fetched as one server-rendered fragment every second and swapped in, part by part, when they
  // changed; the fetch that sees the crawl ended is the last, and leaves the page as a reload would.
  // The fragment is this app's own template output (autoescaped): crawled text in it is text, and
  // DOMParser runs no script.
  var head = document.getElementById("crawl");
  if (head && ACTIVE[head.getAttribute("data-state")]) {
    var note = document.getElementById("live-note");
    var source = head.getAttribute("data-live-src") + window.location.search;
    var seen = {};
    note.hidden = false;
    note.textContent = "The crawl is running: every number and list on this page updates live.";
    var swap = function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var root = doc.getElementById("live");
      if (!root) { return null; }
      Array.prototype.forEach.call(root.querySelectorAll("[data-live]"), function (part) {
        var name = part.getAttribute("data-live");
        var here = document.querySelector('[data-live="' + name + '"]');
        if (!here || seen[name] === part.outerHTML) { return; }
        seen[name] = part.outerHTML;
        here.replaceWith(document.importNode(part, true));
      });
      var state = root.getAttribute("data-state");
      head.setAttribute("data-state", state);
      var active = root.getAttribute("data-active") === "yes";
      Array.prototype.forEach.call(document.querySelectorAll("form[data-when]"), function (form) {
        form.hidden = (form.getAttribute("data-when") === "active") !== active;
      });
      return active;
    };
    var poll = function () {
      var xhr = new XMLHttpRequest();
      xhr.open("GET", source);
      xhr.onload = function () {
        var active = xhr.status === 200 ? swap(xhr.responseText) : null;
        if (active === false) {
          note.textContent = "The crawl " + head.getAttribute("data-state") + ": this is the full report.";
        } else {
          window.setTimeout(poll, active === null ? INTERVAL * 4 : INTERVAL);
        }
      };
      xhr.onerror = function () { window.setTimeout(poll, INTERVAL * 4); };
      xhr.send();
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
