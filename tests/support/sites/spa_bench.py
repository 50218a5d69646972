"""A generated app of N pages for the rendering benchmark (bench/render.py): a quarter are routes of a
single-page app, the rest static documentation pages.

``/app/K`` (K < N/4) answers the app's shell (an empty ``#root``, ``/bench-app.js``); the script draws
links to ``/app/2K+1``, ``/app/2K+2`` and to three documentation pages, after a ``fetch()`` of
``/api/K.json`` (one of every ten is dead: ``/gone/K``). ``/docs/M`` is a static page with text, links to
its neighbours and an analytics script: nothing to render, which the ``auto`` rule must see.
"""

from __future__ import annotations

from tests.support.sites.server import Generated, Route

APP_JS = r"""
const k = Number(location.pathname.split('/').pop());
const apps = Number(document.body.dataset.apps), docs = Number(document.body.dataset.docs);
fetch('/api/' + k + '.json').then((r) => r.json()).then((extra) => {
  const links = [];
  for (const j of [2 * k + 1, 2 * k + 2]) if (j < apps) links.push('/app/' + j);
  for (let d = 0; d < 3; d++) links.push('/docs/' + ((3 * k + d) % docs));
  links.push(...extra);
  document.getElementById('root').innerHTML = links.map((h) => '<a href="' + h + '">' + h + '</a>').join(' ');
});
"""


def build(pages: str = "200") -> dict[str, object]:
    n = int(pages)
    apps = max(1, n // 4)
    docs = n - apps

    def route(path: str) -> Route | None:
        parts = path.strip("/").split("/")
        if path == "/bench-app.js":
            return Route(raw=APP_JS.encode(), content_type="application/javascript")
        if path == "/analytics.js":
            return Route(raw=b"void 0;", content_type="application/javascript")
        if len(parts) != 2 or not parts[1].removesuffix(".json").isdigit():
            return None
        k = int(parts[1].removesuffix(".json"))
        if parts[0] == "app" and k < apps:
            return Route(body=f'<!doctype html><html><head><title>App {k}</title></head><body data-apps="{apps}" '
                              f'data-docs="{docs}"><div id="root"></div><script src="/bench-app.js"></script>'
                              "</body></html>")
        if parts[0] == "api" and k < apps:
            return Route(raw=(b'["/gone/%d"]' % k) if k % 10 == 0 else b"[]", content_type="application/json")
        if parts[0] == "docs" and k < docs:
            links = " ".join(f'<a href="/docs/{j}">Page {j}</a>' for j in (k + 1, 2 * k + 1) if j < docs)
            return Route(body=f"<!doctype html><html><body><h1>Docs {k}</h1><nav><a href=\"/app/0\">App</a> "
                              f"{links}</nav><p>{'Documentation text. ' * 30}</p>"
                              "<script src=\"/analytics.js\"></script></body></html>")
        return None

    return {"main": Generated(route)}
