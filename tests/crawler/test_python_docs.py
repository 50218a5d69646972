"""A real site nobody would call hostile: Debian's Python 3.11 documentation (``python3.11-doc``, which
``make system-deps`` installs), served on loopback as ``linkpatrol check DIR`` serves a folder.
``genindex-all.html`` holds 17,261 links (14,365 distinct target#fragment pairs to 434 pages): every
one is read with the crawler's default cap."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest
from scrapy.http import HtmlResponse

from crawler.extract import scan_page
from linkpatrol.cli.check.folder import FolderServer, inside
from linkpatrol.model.options import CrawlOptions
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import CrawlerProcess, crawl_to_end

DOCS = Path("/usr/share/doc/python3.11/html")
INDEX = "genindex-all.html"

pytestmark = pytest.mark.skipif(not (DOCS / INDEX).is_file(),
                                reason=f"Debian's python3.11-doc is not installed (no {DOCS / INDEX}): "
                                       "`make system-deps` installs it, as root")


@pytest.fixture(scope="module")
def docs() -> Iterator[FolderServer]:
    server = FolderServer(DOCS).start()
    yield server
    server.stop()


def links_of(base: str, name: str) -> set[tuple[str, str]]:
    """The (target, fragment) pairs of a page's links (``<a href>``, ``<link href>``, ``<img src>``,
    ``<script src>``), read with lxml.html and the standard library, not with the crawler's extractor.
    The docs' urls need no normalising: they are plain relative paths."""
    tree = lxml.html.parse(str(DOCS / name))
    pairs = set()
    for value in tree.xpath("//a/@href | //link/@href | //img/@src | //script/@src"):
        if str(value).strip() in ("", "#"):
            continue  # the page itself: nothing to check
        url = urljoin(base + name, str(value))
        if urlsplit(url).scheme in ("http", "https"):
            target, _, fragment = url.partition("#")
            pairs.add((target, fragment))
        else:  # Debian's pages say they are canonical at file:///usr/share/doc/...
            pairs.add((url, ""))
    return pairs


def served(path: Path) -> bool:
    return path.is_file() and inside(str(DOCS.resolve()), os.path.realpath(path))


@pytest.mark.parametrize("name", [INDEX, "contents.html"])
def test_the_biggest_pages_are_read_whole_with_the_default_cap(name: str) -> None:
    base = "http://127.0.0.1:8000/"
    body = (DOCS / name).read_bytes()
    scan = scan_page(HtmlResponse(base + name, body=body, encoding="utf-8"))
    assert scan.overflow == 0
    assert {(lk.target, lk.fragment) for lk in scan.links} == links_of(base, name)


def test_every_link_of_the_biggest_index_is_checked(store: CrawlStore, crawlers: Callable[..., CrawlerProcess],
                                                    docs: FolderServer) -> None:
    crawlers()  # the default cap
    # Depth 0: the index is parsed and each of its links checked (reading the 434 pages it links to
    # as well takes minutes).
    options = CrawlOptions(max_depth=0, sitemaps=False, check_external=False)  # no network here
    crawl = crawl_to_end(store, docs.url + INDEX, options, timeout=180)
    assert crawl.counters.get("links_over_cap", 0) == 0
    assert all(r.startswith("depth limit") for r in crawl.stop_reasons), crawl.stop_reasons
    targets = {target for target, _ in links_of(docs.url, INDEX) if target.startswith(docs.url)}
    assert len(targets) > 400
    for target in targets:
        result = store.result(crawl.id, target)
        # A page the package leaves out (whatsnew/changelog.html) is dead, and so is a symlink out of
        # the folder (Debian links _static/jquery.js to /usr/share/javascript), as the folder server says.
        outcome = "ok" if served(DOCS / urlsplit(target).path.lstrip("/")) else "dead"
        assert result is not None and result.outcome == outcome, (target, result)
    assert {r.url for r in store.iter_results(crawl.id)} == targets | {docs.url + INDEX}
