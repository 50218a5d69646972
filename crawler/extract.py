"""What a page points at and what it offers: its links (every element that points at something a
visitor needs, with the line it stands on) and its anchors (the ids and ``<a name>`` a fragment may
name).

One lxml parse per page. libxml2 gives up past a nesting depth of 256 (2048 with huge_tree): links
after 100,000 nested ``<div>``s would silently vanish, so when the parser reports that limit the
page is read again with the standard library's tokenizer, which keeps no tree and has no depth.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import unquote, urljoin, urlsplit

import lxml.etree
import lxml.html
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.response import get_base_url

from crawler.css import declaration_urls, stylesheet_urls
from linkpatrol.urls import IGNORED_SCHEMES, InvalidURL, normalize_url

# (element, attribute) pairs that hold one url, and the ones that hold a srcset.
URL_ATTRS: dict[str, tuple[str, ...]] = {
    "a": ("href",),
    "area": ("href",),
    "img": ("src",),
    "source": ("src",),
    "link": ("href",),
    "script": ("src",),
    "iframe": ("src",),
    "frame": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),  # type=image only
}
SRCSET_TAGS = frozenset({"img", "source"})
# Elements whose in-scope targets are pages to crawl; the others are resources to check (an in-scope
# resource that answers HTML is parsed all the same: see the spider).
FOLLOW_TAGS = frozenset({"a", "area", "iframe", "frame", "meta-refresh"})
# <link rel=...> values that name an origin to warm up, not a resource that must exist.
HINT_RELS = frozenset({"preconnect", "dns-prefetch"})
# <meta> tags whose content is an image shown when the page is shared.
IMAGE_METAS = frozenset({"og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src"})
MAX_TEXT = 200
REFRESH = re.compile(r"^\s*[\d.]*\s*[;,]?\s*(?:url\s*=\s*)?(?P<url>.*?)\s*$", re.I | re.S)


@dataclass(frozen=True)
class Link:
    target: str  # normalised url without fragment, or the raw string when it cannot be fetched
    fragment: str
    element: str
    text: str
    follow: bool  # an anchor-like element: in scope, the target is a page to parse
    problem: str | None = None  # "invalid-url" or "unsupported": nothing to fetch
    line: int = 0  # the line of the element in the page's source (0: unknown)
    same_page: bool = False  # a fragment-only link (href="#install"): only its anchor is checked


# Links and ids taken from one page unless the caller says otherwise (the crawler passes its setting
# LINKPATROL_MAX_LINKS_PER_PAGE): memory and every Redis call stay bounded whatever a page holds.
MAX_LINKS = 10_000


@dataclass
class PageScan:
    links: list[Link] = field(default_factory=list)
    anchors: set[str] = field(default_factory=set)  # ids and <a name>s a fragment may name
    tokenized: bool = False  # too deep for the tree parser: read with the tokenizer instead
    overflow: int = 0  # links past the cap: counted, not taken
    too_many_anchors: bool = False  # more ids than the cap: the page's anchors cannot be checked


def parse_srcset(value: str) -> Iterator[str]:
    """The urls of a srcset: candidates are a url (no white space) then descriptors, comma separated.
    Reading up to white space keeps commas inside urls (data: urls, query strings) intact."""
    i, n = 0, len(value)
    while i < n:
        while i < n and (value[i].isspace() or value[i] == ","):
            i += 1
        start = i
        while i < n and not value[i].isspace():
            i += 1
        url = value[start:i]
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            while i < n and value[i] != ",":  # skip the descriptors
                i += 1
        if url:
            yield url


def _clean(raw: str) -> str:
    return " ".join(raw.split())[:MAX_TEXT]


def make_link(base: str, raw: str, element: str, text: str, follow: bool, line: int = 0,
              page: str = "") -> Link | None:
    """A link from an attribute's raw value. ``page`` (the page's own url) turns a fragment-only
    link (``#install``) into a link to the page itself, so its anchor is checked."""
    raw = raw.strip()
    if not raw:
        return None
    if raw.startswith("#"):
        return Link(page, raw[1:], element, text, False, None, line, True) if page and raw != "#" else None
    scheme = raw.split(":", 1)[0].lower() if ":" in raw else ""
    if scheme in IGNORED_SCHEMES:
        return None
    try:
        joined = urljoin(base, raw)
    except ValueError:
        return Link(raw, "", element, text, False, "invalid-url", line)
    joined_scheme = urlsplit(joined).scheme.lower() if ":" in joined else ""
    if joined_scheme in IGNORED_SCHEMES:
        return None
    try:
        url, fragment = normalize_url(joined)
    except InvalidURL:
        problem = "unsupported" if joined_scheme and joined_scheme not in ("http", "https") else "invalid-url"
        return Link(joined, "", element, text, False, problem, line)
    return Link(url, fragment, element, text, follow, None, line)


class _Collector:
    """Turns elements (tag, attributes, text, line) into links, whichever parser found them."""

    def __init__(self, base: str, page: str, limit: int = MAX_LINKS) -> None:
        self.base = base
        self.page = page
        self.limit = limit
        self.scan = PageScan()

    @property
    def full(self) -> bool:
        return len(self.scan.links) >= self.limit

    def trim(self) -> None:
        """The links of an <a> that held others can pass the cap by a few: keep it exact."""
        if len(self.scan.links) > self.limit:
            self.scan.overflow += len(self.scan.links) - self.limit
            del self.scan.links[self.limit:]

    def add(self, raw: str | None, element: str, text: str, follow: bool, line: int) -> None:
        if raw:
            if self.full:  # past the cap: counted, never built (no url parsing, no object)
                if raw.strip() not in ("", "#"):
                    self.scan.overflow += 1
                return
            link = make_link(self.base, raw, element, text, follow, line, self.page)
            if link is not None:
                self.scan.links.append(link)

    def anchor(self, name: str) -> None:
        if self.scan.too_many_anchors:
            return
        if len(self.scan.anchors) >= self.limit and name not in self.scan.anchors:
            self.scan.too_many_anchors = True
            self.scan.anchors = set()
            return
        self.scan.anchors.add(name)

    def anchors(self, tag: str, get: Callable[[str], str | None]) -> None:
        for name in (get("id"), get("name") if tag == "a" else None):
            if name:
                self.anchor(name)

    def element(self, tag: str, get: Callable[[str], str | None], text: Callable[[], str], line: int) -> None:
        style = get("style")
        if style:
            for found in declaration_urls(style, line):
                self.add(found.url, "style", "", False, found.line)
        if tag == "meta":
            self._meta(get, line)
            return
        attrs = URL_ATTRS.get(tag)
        if attrs is None:
            return
        if tag == "link" and HINT_RELS.intersection((get("rel") or "").lower().split()):
            return
        if tag == "input" and (get("type") or "").lower() != "image":
            return
        label = _clean(text())
        for attr in attrs:
            self.add(get(attr), tag, label, tag in FOLLOW_TAGS, line)
        srcset = get("srcset") if tag in SRCSET_TAGS else None
        if srcset:
            for raw in parse_srcset(srcset):
                self.add(raw, tag, label, False, line)

    def _meta(self, get: Callable[[str], str | None], line: int) -> None:
        content = get("content") or ""
        if (get("http-equiv") or "").lower() == "refresh":
            found = REFRESH.match(content)
            target = found.group("url").strip("'\"") if found else ""
            if target:
                self.add(target, "meta-refresh", "", True, line)
        elif (get("property") or get("name") or "").lower() in IMAGE_METAS:
            self.add(content, "meta", (get("property") or get("name") or "").lower(), False, line)

    def style_block(self, css: str, line: int) -> None:
        for found in stylesheet_urls(css, line):
            self.add(found.url, "style", "", False, found.line)


TEXT_OF = lxml.etree.XPath("string()")  # an element's text, its descendants' included (no comments)


def _label(el: lxml.etree._Element, tag: str) -> str:
    if tag in ("a", "area"):
        raw = str(TEXT_OF(el)) if tag == "a" else (el.get("alt") or "")
        if not raw.strip() and tag == "a":
            # An image link: its alt text is what a reader sees.
            alts = [img.get("alt") or "" for img in el.iter("img")]
            raw = " ".join(a for a in alts if a) or (el.get("title") or "")
        return raw
    if tag in ("img", "input"):
        return el.get("alt") or ""
    return el.get("title") or ""


CHUNK = 256 * 1024  # bytes fed to the parser at a time


def _scan_tree(body: bytes, encoding: str, collector: _Collector) -> bool:
    """Read the page with lxml, as a stream: each element is read when it opens (its attributes) or
    closes (an <a>'s text, a <style>'s content), then dropped from the tree unless an <a> around it
    is still open. A page of 500,000 links never holds more than a chunk of its tree. False when
    libxml2 stopped at its nesting limit."""
    parser = lxml.etree.HTMLPullParser(events=("start", "end"), encoding=encoding, huge_tree=True, recover=True)
    reader = _TreeReader(collector)
    for i in range(0, len(body), CHUNK):
        parser.feed(body[i:i + CHUNK])
        reader.read(parser.read_events())
    with contextlib.suppress(lxml.etree.XMLSyntaxError):  # an empty document
        parser.close()
    reader.read(parser.read_events())
    # At its nesting limit libxml2 stops without a word to the pull parser: elements stay open.
    if reader.depth > 0 or any("depth" in str(e.message).lower() for e in parser.error_log):
        return False
    collector.trim()
    return True


class _TreeReader:
    """Turns the pull parser's events into the collector's elements, in document order."""

    def __init__(self, collector: _Collector) -> None:
        self.collector = collector
        self.open_a: list[int] = []  # for each <a> being read: where its link goes in the list
        self.depth = 0  # elements opened and not closed yet

    def read(self, events: Iterator[tuple[str, lxml.etree._Element]]) -> None:
        collector = self.collector
        for event, el in events:
            tag = el.tag.lower() if isinstance(el.tag, str) else ""
            if event == "start":
                self.depth += 1
                name = el.get("id")
                if name:
                    collector.anchor(name)
                if tag == "a":
                    if el.get("name"):
                        collector.anchor(el.get("name") or "")
                    self.open_a.append(len(collector.scan.links))
                elif tag != "style" and (tag in URL_ATTRS or tag == "meta" or el.get("style") is not None):
                    self._element(el, tag)  # its attributes are all it needs
                continue
            self.depth -= 1
            if tag == "a" and self.open_a:
                # Its link goes before those of the elements inside it, as in the document.
                at = self.open_a.pop()
                inner = collector.scan.links[at:]
                del collector.scan.links[at:]
                self._element(el, tag)
                collector.scan.links.extend(inner)
            elif tag == "style":
                collector.style_block(el.text or "", el.sourceline or 0)
                if el.get("style") is not None:
                    self._element(el, tag)
            if not self.open_a:  # read: drop it, and what came before it in its parent
                el.clear(keep_tail=True)
                parent = el.getparent()
                if parent is not None:
                    while el.getprevious() is not None:
                        del parent[0]

    def _element(self, el: lxml.etree._Element, tag: str) -> None:
        if self.collector.full:
            self.collector.element(tag, el.get, str, 0)  # counts what it would have taken
        else:
            self.collector.element(tag, el.get, functools.partial(_label, el, tag), el.sourceline or 0)


class _Tokenizer(HTMLParser):
    """The fallback: the standard library's tokenizer, no tree, no depth limit."""

    def __init__(self, collector: _Collector) -> None:
        super().__init__(convert_charrefs=True)
        self.collector = collector
        self._open: list[tuple[dict[str, str | None], int, list[str], list[str]]] = []  # <a>s being read
        self._style: list[str] | None = None
        self._style_line = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        line = self.getpos()[0]
        self.collector.anchors(tag, values.get)
        if tag == "a":
            self._emit_open()  # an <a> inside an <a> closes it, as HTML parsers do
            self._open.append((values, line, [], []))
            return
        if tag == "style":
            self._style, self._style_line = [], line
        if tag == "img" and self._open and values.get("alt"):
            self._open[-1][3].append(values.get("alt") or "")
        self.collector.element(tag, values.get, lambda: values.get("alt") or values.get("title") or "", line)

    def _emit_open(self) -> None:
        while self._open:
            values, line, text, alts = self._open.pop()
            # As the tree path reads it: the text, else the alt of an image inside, else the title.
            label = "".join(text).strip() or " ".join(alts) or values.get("title") or ""
            self.collector.element("a", values.get, lambda label=label: label, line)  # type: ignore[misc]

    def close(self) -> None:
        super().close()
        self._emit_open()  # <a>s never closed still point somewhere

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open:
            self._emit_open()
        elif tag == "style" and self._style is not None:
            self.collector.style_block("".join(self._style), self._style_line)
            self._style = None

    def handle_data(self, data: str) -> None:
        if self._style is not None:
            self._style.append(data)
        for _, _, text, _ in self._open:
            text.append(data)


def scan_page(response: TextResponse, limit: int = MAX_LINKS) -> PageScan:
    """The links and anchors of an HTML page: at most ``limit`` links (the rest counted in
    ``overflow``), and its anchors unless it holds more than ``limit`` ids."""
    page = response.url.split("#", 1)[0]
    collector = _Collector(get_base_url(response), page, limit)
    if not _scan_tree(response.body, response.encoding, collector):
        collector = _Collector(collector.base, page, limit)
        tokenizer = _Tokenizer(collector)
        tokenizer.feed(response.text)
        tokenizer.close()
        collector.scan.tokenized = True
    return collector.scan


def scan_stylesheet(response: TextResponse, limit: int = MAX_LINKS) -> PageScan:
    """The links of a stylesheet (``url()`` and ``@import``), with the stylesheet as their page."""
    collector = _Collector(response.url, "", limit)
    for found in stylesheet_urls(response.text):
        collector.add(found.url, "@import" if found.is_import else "css", "", False, found.line)
    return collector.scan


def extract_links(response: HtmlResponse) -> list[Link]:
    """The links of a page (without same-page fragment links)."""
    return [link for link in scan_page(response).links if not link.same_page]


def anchor_name(fragment: str) -> str | None:
    """The id a fragment asks for, or None when a fragment names no anchor and is always fine: an
    empty one and ``top`` (HTML's rules), text fragments (``:~:text=``) and single-page-app routes
    (``#/...``, ``#!...``). Percent-escapes are decoded, as browsers do before matching."""
    if not fragment or fragment.startswith(("/", "!", ":~:")):
        return None
    name = unquote(fragment.split(":~:", 1)[0])
    if not name or name.lower() == "top":
        return None
    return name
