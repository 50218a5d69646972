"""A generated site of N pages with known dead links, for the scale tests and the benchmark.

Page i links to the next page and to pages 2i+1 and 2i+2 (so every page is reachable from the home
page), to a shared navigation, to one of 50 shared images, and every tenth page to a dead page of its
own and to a dead image. ``delay`` slows every answer (to keep a crawl in progress during a test).
"""

from __future__ import annotations

from tests.support.sites.server import Route

NAV = [("/", "Home"), ("/about.html", "About"), ("/contact.html", "Contact"), ("/p/1.html", "Start")]


def page_path(i: int) -> str:
    return "/" if i == 0 else f"/p/{i}.html"


def _page(i: int, n: int, delay: float) -> Route:
    links = [f'<a href="{href}">{text}</a>' for href, text in NAV]
    for j in (i + 1, 2 * i + 1, 2 * i + 2):
        if j < n:
            links.append(f'<a href="{page_path(j)}">Page {j}</a>')
    links.append(f'<img src="/img/{i % 50}.png" alt="Picture {i % 50}">')
    if i % 10 == 0:
        links.append(f'<a href="/dead/{i}.html">Dead link {i}</a>')
        links.append(f'<img src="/img/missing-{i}.png" alt="Missing {i}">')
    body = f"<!doctype html><html><head><title>Page {i}</title></head><body><h1>Page {i}</h1>" \
           f"{' '.join(links)}<p>{'Lorem ipsum dolor sit amet. ' * 20}</p></body></html>"
    return Route(body=body.replace("{", "{{").replace("}", "}}"), delay=delay)


def build(pages: str = "200", delay: str = "0", dead_host_links: str = "0") -> dict[str, object]:
    """``dead_host_links``: that many links to a host that does not resolve, on the contact page."""
    n, d = int(pages), float(delay)
    routes: dict[str, Route] = {page_path(i): _page(i, n, d) for i in range(n)}
    routes["/about.html"] = Route(body="<html><body><a href='/'>Home</a></body></html>", delay=d)
    dead_host = "".join(f"<a href='http://nowhere.invalid/{k}'>{k}</a>" for k in range(int(dead_host_links)))
    routes["/contact.html"] = Route(body=f"<html><body><a href='/missing-form'>Form</a>{dead_host}</body></html>",
                                    delay=d)
    for k in range(50):
        routes[f"/img/{k}.png"] = Route(body="png", content_type="image/png", delay=d)
    return {"main": routes}


def truth(port: int, pages: int) -> dict[str, set[str]]:
    """Dead url -> the pages that link to it."""
    base = f"http://127.0.0.1:{port}"
    dead: dict[str, set[str]] = {f"{base}/missing-form": {f"{base}/contact.html"}}
    for i in range(0, pages, 10):
        page = base + page_path(i)
        dead[f"{base}/dead/{i}.html"] = {page}
        dead[f"{base}/img/missing-{i}.png"] = {page}
    return dead


def expected_urls(pages: int) -> int:
    """How many distinct urls a full crawl checks."""
    return pages + 2 + 50 + 1 + 2 * len(range(0, pages, 10))
