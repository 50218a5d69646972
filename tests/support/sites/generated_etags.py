"""The generated site (``generated.py``) with an ETag on every page, for re-check benchmarks
(``bench/recheck.py``). The JSON file given as argument lists pages changed since (``{"changed": [i,
...]}``, read again when it changes): a changed page has a new ETag and one more dead link,
``/changed/i.html``. ``pad_kb``: kilobytes of text added to every page (real pages are tens of kB).
Every page also links one of ``EXTERNAL`` pages of site ``ext`` (another host, all alive)."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from tests.support.sites import generated
from tests.support.sites.server import Generated, Route

EXTERNAL = 100


def changed_path(i: int) -> str:
    return f"/changed/{i}.html"


def build(pages: str, versions: str, pad_kb: str = "0") -> dict[str, object]:
    routes: dict[str, Route] = generated.build(pages)["main"]  # type: ignore[assignment]
    n = int(pages)
    index = {generated.page_path(i): i for i in range(n)}
    padding = "<p>" + "Lorem ipsum dolor sit amet, <em>consectetur</em> adipiscing elit. " * (int(pad_kb) * 16) + "</p>"
    for path, route in routes.items():
        route.etag = f'"{index.get(path, path)}-1"'
        if path in index:
            away = f'<a href="http://127.0.0.1:{{ext}}/e/{index[path] % EXTERNAL}">Elsewhere</a>'
            route.body = route.body.replace("</body>", away + padding + "</body>")
    seen: dict[str, object] = {"mtime": None, "changed": frozenset()}

    def changed() -> frozenset[int]:
        mtime = os.stat(versions).st_mtime_ns if os.path.exists(versions) else None
        if mtime != seen["mtime"]:
            seen["mtime"] = mtime
            seen["changed"] = frozenset(json.loads(Path(versions).read_text())["changed"]) if mtime else frozenset()
        return seen["changed"]  # type: ignore[return-value]

    def make(path: str) -> Route | None:
        route = routes.get(path)
        i = index.get(path)
        if route is None or i is None or i not in changed():
            return route
        extra = f'<a href="{changed_path(i)}">Changed {i}</a></body>'
        return replace(route, body=route.body.replace("</body>", extra), etag=f'"{i}-2"')

    return {"main": Generated(make), "ext": {f"/e/{k}": Route(body="<html>elsewhere</html>")
                                             for k in range(EXTERNAL)}}


def truth(port: int, pages: int, changed: list[int]) -> set[str]:
    """The dead urls of the site once ``changed`` pages changed."""
    base = f"http://127.0.0.1:{port}"
    return set(generated.truth(port, pages)) | {base + changed_path(i) for i in changed}
