"""A single-page app, for rendering (crawler/render): a shell whose script draws everything.

``/`` is the shell as a framework's build sends it: an empty ``#root``, the app's script, a noscript
asking for JavaScript and one static link (``/static.html``). The script (``/app.js``, its router)
draws a menu with a hash route (``#/about``, whose view links ``/about-only.html``) and history-API
routes (``/docs/intro``, ``/docs/more``: the server answers the shell there too, as SPA hosts do); after
a ``fetch()`` of ``/api/links.json`` it adds the links it lists (one dead: ``/dead-from-api``); it
requests an image that is missing (``/img/missing.png``, never put in the DOM), and shows a custom
element whose open shadow root links ``/shadow.html``. ``/docs/intro`` shows a link to ``/docs/gone``,
which is dead: found only in the rendered DOM.

``/busy.html`` never settles (its script polls ``/api/links.json`` every 50 ms): rendering it takes the
crawler's whole settle time, long enough to kill the browser under it.

``build(PRIVATE)`` with a port: ``/ssrf.html``, a page whose script fetches, embeds, frames and opens a
WebSocket to ``127.0.0.2:PRIVATE`` (and redirects there through ``/bounce``), for the browser-level
address-policy test.
"""

from __future__ import annotations

from tests.support.sites.fixture import page
from tests.support.sites.server import Route

SHELL = """<!doctype html>
<html><head><title>App</title></head>
<body>
<noscript>You need to enable JavaScript to run this app.</noscript>
<header><a href="/static.html">Static page</a></header>
<div id="root"></div>
<script src="/app.js"></script>
</body></html>"""

APP_JS = r"""
class LinkCard extends HTMLElement {
  connectedCallback() {
    const root = this.attachShadow({mode: 'open'});
    root.innerHTML = '<a href="/shadow.html">In a shadow root</a>';
  }
}
customElements.define('link-card', LinkCard);

function view() {
  const root = document.getElementById('root');
  const hash = location.hash;
  let html = '<nav><a href="#/about">About (hash route)</a> <a href="/docs/intro" data-route>Intro</a> ' +
             '<a href="/docs/more" data-route>More</a></nav>';
  if (hash === '#/about') {
    html += '<main><a href="/about-only.html">About page</a></main>';
  } else if (location.pathname === '/docs/intro') {
    html += '<main><a href="/docs/gone">A page that is gone</a></main>';
  } else {
    html += '<main><link-card></link-card><ul id="from-api"></ul></main>';
  }
  root.innerHTML = html;
  for (const a of root.querySelectorAll('a[data-route]')) {
    a.addEventListener('click', (e) => { e.preventDefault(); history.pushState({}, '', a.href); view(); });
  }
  const list = document.getElementById('from-api');
  if (list) {
    fetch('/api/links.json').then((r) => r.json()).then((links) => {
      for (const href of links) {
        const li = document.createElement('li');
        li.innerHTML = '<a href="' + href + '">' + href + '</a>';
        list.appendChild(li);
      }
    });
  }
}
window.addEventListener('hashchange', view);
window.addEventListener('popstate', view);
view();
const img = new Image();
img.src = '/img/missing.png';
"""

BUSY_PAGE = """<!doctype html>
<html><body>
<div id="root"><a href="/static.html">Static</a></div>
<script src="/busy.js"></script>
</body></html>"""
BUSY_JS = r"""setInterval(() => { fetch('/api/links.json').catch(() => {}); }, 50);"""

SSRF_PAGE = """<!doctype html>
<html><body>
<div id="root"></div>
<script src="/ssrf.js"></script>
</body></html>"""

SSRF_JS = r"""
const secret = 'http://127.0.0.2:PRIVATE';
fetch(secret + '/fetched').catch(() => {});
const x = new XMLHttpRequest(); x.open('GET', secret + '/xhr'); x.send();
document.getElementById('root').innerHTML =
  '<img src="' + secret + '/img.png"><iframe src="' + secret + '/frame"></iframe>' +
  '<a href="/static.html">Static</a>';
try { new WebSocket('ws://127.0.0.2:PRIVATE/socket'); } catch (e) {}
fetch('/bounce').catch(() => {});
navigator.sendBeacon && navigator.sendBeacon(secret + '/beacon', 'x');
"""


def build(private: str = "0") -> dict[str, object]:
    shell = Route(body=SHELL)
    js = "application/javascript"
    return {"main": {
        "/": shell,
        "/docs/intro": shell,
        "/docs/more": shell,
        "/app.js": Route(raw=APP_JS.encode(), content_type=js),
        "/api/links.json": Route(raw=b'["/from-api.html", "/dead-from-api"]', content_type="application/json"),
        "/static.html": page("Static", '<a href="/">Home</a> <p>A page that needs no script.</p>'),
        "/about-only.html": page("About", '<a href="/">Home</a>'),
        "/from-api.html": page("From the API", '<a href="/">Home</a>'),
        "/shadow.html": page("Shadow", '<a href="/">Home</a>'),
        "/busy.html": Route(body=BUSY_PAGE),
        "/busy.js": Route(raw=BUSY_JS.encode(), content_type=js),
        "/ssrf.html": Route(body=SSRF_PAGE),
        "/ssrf.js": Route(raw=SSRF_JS.replace("PRIVATE", private).encode(), content_type=js),
        "/bounce": Route(status=302, headers={"Location": f"http://127.0.0.2:{private}/redirected"}),
    }}
