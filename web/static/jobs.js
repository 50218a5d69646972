// The jobs page, live: polls /jobs.json, updates the counts and rebuilds each table with DOM calls
// and textContent only (error texts and titles may carry addresses or crawled URLs: never markup).
(function () {
  "use strict";
  var root = document.getElementById("jobs");
  if (!root) { return; }
  var INTERVAL = 2000;
  var source = root.getAttribute("data-source");
  var csrf = root.getAttribute("data-csrf");

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) { return; }
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  function when(ts) {
    if (!ts) { return document.createTextNode("–"); }
    return el("time", { datetime: ts }, [ts.replace("T", " ").replace("Z", " UTC")]);
  }
  function action(kind, job, label, cls) {
    var url = root.getAttribute("data-" + kind).replace("JOB", encodeURIComponent(job.id));
    var button = el("button", cls ? { type: "submit", "class": cls } : { type: "submit" }, [label]);
    return el("form", { method: "post", action: url, "class": "inline" },
              [el("input", { type: "hidden", name: "csrf_token", value: csrf }), button]);
  }
  function row(job) {
    var title = [el("span", { "class": "job-title" }, [job.title]), el("br"), el("code", { "class": "job-id" }, [job.id])];
    if (job.crawl_id) {
      var report = root.getAttribute("data-report").replace("CRAWL", encodeURIComponent(job.crawl_id));
      title.push(" · ", el("a", { href: report }, ["report"]));
    }
    var whenCell;
    if (job.state === "scheduled") { whenCell = ["next attempt ", when(job.next_attempt_at)]; }
    else if (job.state === "failed" || job.state === "finished") { whenCell = ["ended ", when(job.ended_at)]; }
    else { whenCell = ["enqueued ", when(job.enqueued_at || job.created_at)]; }
    var outcome = [];
    if (job.error) { outcome.push(el("span", { "class": "job-error" }, [job.error])); }
    else if (job.result) { outcome.push(String(job.result)); }
    if (job.attempts.length) {
      var items = job.attempts.map(function (a) {
        var what;
        if (a.error) {
          what = [el("span", { "class": "job-error" }, [a.error]), a.permanent ? " (permanent: not retried)" : null];
        } else { what = [a.ended ? (a.note || "done") : "running"]; }
        return el("li", {}, [when(a.started), ": "].concat(what));
      });
      var n = job.attempts.length;
      outcome.push(el("details", {}, [el("summary", {}, [n + " attempt" + (n === 1 ? "" : "s")]),
                                       el("ol", { "class": "attempts" }, items)]));
    }
    var actions = [];
    if (job.can_retry) { actions.push(action("retry", job, job.state === "scheduled" ? "Retry now" : "Retry")); }
    if (job.can_delete) { actions.push(action("delete", job, "Delete", "danger")); }
    return el("tr", { "data-job": job.id }, [
      el("td", {}, title),
      el("td", { "class": "num", "data-field": "attempt" }, [job.attempt + " of " + job.max_attempts]),
      el("td", { "data-field": "when" }, whenCell),
      el("td", { "data-field": "outcome" }, outcome),
      el("td", { "class": "job-actions" }, actions)
    ]);
  }
  function render(data) {
    Object.keys(data.counts).forEach(function (state) {
      document.querySelectorAll('[data-count="' + state + '"]').forEach(function (node) {
        var text = String(data.counts[state]);
        if (node.textContent !== text) { node.textContent = text; }
      });
    });
    Object.keys(data.jobs).forEach(function (state) {
      var table = document.querySelector('table.jobs[data-state="' + state + '"]');
      if (!table) { return; }
      var body = table.querySelector("tbody");
      // Keep the rows (and any open <details>) when nothing changed.
      var signature = JSON.stringify(data.jobs[state]);
      if (body.getAttribute("data-signature") === signature) { return; }
      var open = {};
      body.querySelectorAll("tr[data-job] details[open]").forEach(function (d) {
        open[d.closest("tr").getAttribute("data-job")] = true;
      });
      var fresh = el("tbody", { "data-signature": signature }, data.jobs[state].map(row));
      fresh.querySelectorAll("tr[data-job]").forEach(function (tr) {
        if (open[tr.getAttribute("data-job")]) { tr.querySelector("details").setAttribute("open", ""); }
      });
      table.replaceChild(fresh, body);
      var empty = document.querySelector('[data-empty="' + state + '"]');
      if (empty) { empty.hidden = data.jobs[state].length > 0; }
    });
  }
  function tick() {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", source);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.onload = function () {
      if (xhr.status === 200) { render(JSON.parse(xhr.responseText)); }
      window.setTimeout(tick, INTERVAL);
    };
    xhr.onerror = function () { window.setTimeout(tick, INTERVAL * 2); };
    xhr.send();
  }
  window.setTimeout(tick, INTERVAL);
})();
