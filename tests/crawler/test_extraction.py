"""Link extraction against its declaration (crawler/url_attributes.py) and its caps, without a crawl:
every attribute the declaration extracts is found by both parsers (lxml's, and the tokenizer a page
too deep for it is read with), every one it leaves alone is not, docs/EXTRACTION.md shows the
declaration as it is, and a page's links are deduplicated by target before the caps."""

from __future__ import annotations

import time

import pytest
from scrapy.http import HtmlResponse

from crawler.extract import FURTHER_PER_TARGET_CAP, PageScan, scan_page
from crawler.url_attributes import ATTRIBUTES, DOC, UrlAttribute, Use, documented, table

PAGE = "http://h.example/dir/page.html"
TABLE_PARTS = {"thead", "tbody", "tfoot", "tr", "td", "th"}
DEEP = "<div>" * 3000  # past libxml2's nesting limit: the page is read by the tokenizer


def scan(body: str, limit: int = 10_000, deep: bool = False) -> PageScan:
    html = f"<html><body>{DEEP if deep else ''}{body}</body></html>"
    found = scan_page(HtmlResponse(PAGE, body=html.encode(), encoding="utf-8"), limit)
    assert found.tokenized is deep
    return found


def _element(row: UrlAttribute, tag: str, attr: str, url: str) -> str:
    value = f"{url} 2x" if row.srcset else url
    extra = ' type="image"' if tag == "input" else ' rel="preload"' if tag == "link" else ""
    html = f'<{tag}{extra} {attr}="{value}"></{tag}>'
    if tag in TABLE_PARTS:
        html = f"<table>{html}</table>"
    return f"<svg>{html}</svg>" if row.spec.startswith("SVG") else html


def declared_page() -> tuple[str, dict[str, Use]]:
    """One element per (row, element, attribute) of the declaration, each with its own url."""
    parts, expected = [], {}
    for i, row in enumerate(ATTRIBUTES):
        if row.use is Use.SPECIAL:
            continue  # meta, base and style have tests of their own
        for tag in row.elements:
            if tag in ("*", "body", "html", "head"):
                continue  # global attributes and elements a page has once: below
            for attr in row.attribute.split(", "):
                for written in (attr, "xlink:href") if row.xlink else (attr,):
                    url = f"/r{i}/{tag}/{written.replace(':', '-')}"
                    parts.append(_element(row, tag, written, url))
                    expected[f"http://h.example{url}"] = row.use
    return "\n".join(parts), expected


@pytest.mark.parametrize("deep", [False, True], ids=["tree", "tokenizer"])
def test_every_declared_attribute_is_extracted_and_the_others_are_not(deep: bool) -> None:
    body, expected = declared_page()
    body += ('<p itemscope itemtype="/global-itemtype" itemid="/global-itemid" xmlns="/global-xmlns">x</p>'
             '<svg><rect fill="url(/fill.svg#g)" clip-path="url(#c)"/></svg>')
    links = {link.target: link for link in scan(body, deep=deep).links}
    assert len(expected) > 60
    for url, use in expected.items():
        if use is Use.IGNORE:
            assert url not in links, url
        else:
            assert url in links, url
            assert links[url].follow is (use is Use.FOLLOW), url
    assert set(links) <= set(expected)


@pytest.mark.parametrize("deep", [False, True], ids=["tree", "tokenizer"])
def test_svg_references_and_html_edge_cases(deep: bool) -> None:
    body = ('<svg><use href="#icon"/><use href="/sprite.svg#icon"/><use href="/a.svg#one" xlink:href="/b.svg"/>'
            '<feImage xlink:href="fe.png"/><linearGradient xlink:href="#base"/></svg>'
            '<blockquote cite="urn:isbn:0-486-27557-4">q</blockquote><q cite="http://[bad/">q</q>'
            '<input type="text" src="/not-an-image.png"><input type="IMAGE" src="/button.png" alt="Go">')
    links = [(lk.target, lk.fragment, lk.element, lk.same_page) for lk in scan(body, deep=deep).links]
    assert links == [
        (PAGE, "icon", "use", True),  # an inline sprite: the page's own id
        ("http://h.example/sprite.svg", "icon", "use", False),
        ("http://h.example/a.svg", "one", "use", False),  # href wins over xlink:href
        ("http://h.example/dir/fe.png", "", "feimage", False),
        (PAGE, "base", "lineargradient", True),
        ("http://h.example/button.png", "", "input", False),
    ]  # a cite that names a book, or is no url at all, is no link


def test_body_background_and_the_table_matches_the_doc() -> None:
    found = scan_page(HtmlResponse(PAGE, body=b'<html><body background="bg.png">x</body></html>',
                                   encoding="utf-8"))
    assert [(lk.target, lk.element) for lk in found.links] == [("http://h.example/dir/bg.png", "body")]
    assert documented(DOC.read_text()) == table(), "run: python -m crawler.url_attributes"


@pytest.mark.parametrize("deep", [False, True], ids=["tree", "tokenizer"])
def test_links_are_kept_once_per_target_and_fragment(deep: bool) -> None:
    body = ('<link rel="next" href="a.html"><a href="a.html#x">X</a><a href="./a.html#x">again</a>'
            '<a href="a.html">plain</a><a href="a.html#y">Y</a><a href="#here">Here</a><a href="#here">2</a>'
            '<img src="a.html"><a href="a.html#caf\u00e9">Caf\u00e9</a><a href="a.html#caf%C3%A9">escaped</a>'
            '<a href="a.html#x\ty">tab</a><a href="http://[bad/#1">bad</a><a href="http://[bad/#1">bad</a>')
    found = scan(body, deep=deep)
    a = "http://h.example/dir/a.html"
    assert [(lk.target, lk.fragment, lk.follow, lk.text) for lk in found.links] == [
        (a, "", False, ""),  # <link rel=next>: a resource; the <a>s to it are kept as well
        (a, "x", True, "X"),
        (a, "y", True, "Y"),
        (PAGE, "here", False, "Here"),
        (a, "caf%C3%A9", True, "Caf\u00e9"),  # escaped as the whole url's normal form has it
        (a, "xy", True, "tab"),  # tabs and line breaks are dropped from urls, as browsers do
        ("http://[bad/#1", "", False, "bad"),
    ]
    assert (found.repeats, found.overflow) == (6, 0)


def test_the_cap_counts_distinct_targets_and_fragments_have_their_own_bound() -> None:
    cap = 4
    further = FURTHER_PER_TARGET_CAP * cap
    # Each target four times, with two fragments: 4 * cap raw links per target... within the cap.
    body = "".join(f'<a href="/t{t}#f{f}">t{t}</a><a href="/t{t}#f{f}">again</a>' for t in range(cap) for f in (1, 2))
    found = scan(body, limit=cap)
    assert (len(found.links), found.overflow, found.repeats) == (2 * cap, 0, 2 * cap)
    # Past the cap: new targets are counted, fragments of the taken ones still kept, up to their bound.
    body += "".join(f'<a href="/new{n}">n</a>' for n in range(3))
    body += "".join(f'<a href="/t0#more{n}">m</a>' for n in range(further + 5))
    found = scan(body, limit=cap)
    taken_further = 2 * cap - cap  # the second fragment of each target
    assert len(found.links) == cap + further
    assert found.overflow == 3 + (further + 5) - (further - taken_further)
    assert {lk.target for lk in found.links} == {f"http://h.example/t{t}" for t in range(cap)}


def test_a_hostile_page_costs_no_more_than_the_caps() -> None:
    # 50,000 distinct links and 50,000 fragments of one: what is kept stays within both bounds.
    body = "".join(f'<a href="/l/{n}">{n}</a>' for n in range(50_000))
    body += "".join(f'<a href="/l/0#f{n}">{n}</a>' for n in range(50_000))
    found = scan(body, limit=1_000)
    assert len(found.links) == 1_000 + FURTHER_PER_TARGET_CAP * 1_000
    assert found.overflow == 100_000 - len(found.links)


def test_a_meta_refresh_padded_with_spaces_is_read_in_linear_time() -> None:
    """A lazy pattern before a trailing ``\\s*$`` took 5.6 s on 20,000 spaces (quadratic); a crawler's
    parse thread must not spend that on one attribute."""
    padded = " " * 200_000
    body = (f'<meta http-equiv="refresh" content="0; url=/next.html{padded}">'
            f'<meta http-equiv="refresh" content="{padded}">')
    started = time.process_time()
    found = scan(body)
    assert time.process_time() - started < 2  # linear: milliseconds; quadratic: many minutes
    assert [(lk.target, lk.element) for lk in found.links] == [("http://h.example/next.html", "meta-refresh")]


def test_links_resolve_as_urljoin_does_on_every_page_and_site() -> None:
    """A path from the root or a url with its host is resolved once per site (crawler/extract.py
    keeps it by origin): every page of every site still gets what urljoin gives against its own url."""
    from urllib.parse import urljoin

    from linkpatrol.model.urls import InvalidURL, normalize_url

    hrefs = ["/a/b.html", "/a/../c.html?q=1", "//o.example/x", "http://p.example/y", "HTTPS://q.example",
             "https:///z", "http://?q", "//", "../up.html", "same.html", "?only=query", "/"]
    pages = ["http://h.example/dir/page.html", "https://h.example/other/deep/x.html", "http://h.example/",
             "https://other.example:8443/p?x=1", "http://h.example/dir/page.html"]
    body = "".join(f'<a href="{h}">{n}</a>' for n, h in enumerate(hrefs)).encode()
    for page in pages:
        expected: dict[str, int] = {}  # target (or the url with a problem) -> the first link to it
        for n, href in enumerate(hrefs):
            joined = urljoin(page, href)
            try:
                target = normalize_url(joined)[0]
            except InvalidURL:
                target = joined
            expected.setdefault(target, n)
        found = scan_page(HtmlResponse(page, body=b"<html><body>" + body, encoding="utf-8"))
        assert {lk.target: int(lk.text) for lk in found.links} == expected, page


def test_the_base_url_is_scrapys_whatever_the_case_encoding_or_url() -> None:
    """``base_url`` looks for ``<base`` in the bytes before decoding a page: it gives what Scrapy's
    ``get_base_url`` gives, and links resolve against a ``<base href>`` in UTF-16 as in UTF-8."""
    from scrapy.utils.response import get_base_url

    from crawler.extract import base_url

    heads = ['<BASE HREF="/sub/">', '<base\thref="http://o.example/x/">', "", "<p>&lt;base href=/no/&gt;</p>"]
    urls = [PAGE, "http://h.example/a b/\u00fc.html?q=\u00fc", "http://h.example/%7euser/p.html"]
    for encoding in ("utf-8", "utf-16", "cp1252", "shift_jis"):
        for head in heads:
            for url in urls:
                body = f"<html><head>{head}</head><body><a href='x.html'>x</a></body></html>".encode(encoding)
                expected = get_base_url(HtmlResponse(url, body=body, encoding=encoding))
                assert base_url(HtmlResponse(url, body=body, encoding=encoding)) == expected, (encoding, head, url)
                links = scan_page(HtmlResponse(url, body=body, encoding=encoding)).links
                assert [lk.target for lk in links] == [normalize(expected, "x.html")], (encoding, head, url)


def normalize(base: str, href: str) -> str:
    from urllib.parse import urljoin

    from linkpatrol.model.urls import normalize_url

    return normalize_url(urljoin(base, href))[0]
