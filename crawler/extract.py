"""What a page points at and what it offers: its links (every element that points at something a
visitor needs, with the line it stands on) and its anchors (the ids and ``<a name>`` a fragment may
name). Which attributes are read is declared in ``crawler/url_attributes.py``.

A page's links are deduplicated by target before any cap: a link is kept once per (url without its
fragment, fragment, followed or not); the cap counts distinct targets, and the further links to a
taken target (its other #fragments, for the anchor check) have a bound of their own.

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
import w3lib.html
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.response import get_base_url

from crawler.css import declaration_urls, stylesheet_urls
from crawler.url_attributes import SRCSET_ATTRS, URL_ATTRS, XLINK_TAGS
from linkpatrol.model.urls import _ALREADY_SAFE, IGNORED_SCHEMES, InvalidURL, normalize_url

# <link rel=...> values that name an origin to warm up, not a resource that must exist.
HINT_RELS = frozenset({"preconnect", "dns-prefetch"})
# <meta> tags whose content is an image shown when the page is shared.
IMAGE_METAS = frozenset({"og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src"})
MAX_TEXT = 200
# Matched against the stripped value: a lazy ".*?" before a trailing "\s*$" backtracked quadratically
# over a long run of spaces (20,000 spaces: 5.6 s of one crawler's time).
REFRESH = re.compile(r"[\d.]*\s*[;,]?\s*(?:url\s*=\s*)?(?P<url>.*)", re.I | re.S)


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


# Distinct targets (and ids) taken from one page unless the caller says otherwise (the crawler passes
# its setting LINKPATROL_MAX_LINKS_PER_PAGE): memory and every Redis call stay bounded whatever a page
# holds. The biggest real pages measured are far below it: the Python 3.11 docs' contents.html links
# 504 distinct targets (13,982 links), SciPy's genindex.html 4,041 (4,195 links).
MAX_LINKS = 10_000
# Further links to targets already taken (another #fragment of the same page, for the anchor check)
# kept per page: this many times the cap (50,000 by default). The Python docs' genindex-all.html holds
# 14,365 distinct target#fragment pairs to 434 targets.
FURTHER_PER_TARGET_CAP = 5


@dataclass
class PageScan:
    links: list[Link] = field(default_factory=list)
    anchors: set[str] = field(default_factory=set)  # ids and <a name>s a fragment may name
    tokenized: bool = False  # too deep for the tree parser: read with the tokenizer instead
    overflow: int = 0  # links left out by a cap (new targets past it, further fragments past theirs): counted
    repeats: int = 0  # links that repeat one kept (same target, fragment and kind): nothing more to check
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


def _joined(base: str, raw: str) -> tuple[str, str]:
    joined = urljoin(base, raw)
    return joined, (urlsplit(joined).scheme.lower() if ":" in joined else "")


def _target(base: str, raw: str) -> tuple[str, str, str | None] | None:
    """What a url as written (stripped, not starting with ``#``) points at: ``(target, fragment,
    problem)``, the target normalised, or the string as written with its problem ("invalid-url",
    "unsupported"); None when there is nothing to check (``mailto:``...)."""
    scheme = raw.split(":", 1)[0].lower() if ":" in raw else ""
    if scheme in IGNORED_SCHEMES:
        return None
    try:
        joined, joined_scheme = _joined(base, raw)
    except ValueError:
        return raw, "", "invalid-url"
    if joined_scheme in IGNORED_SCHEMES:
        return None
    try:
        url, fragment = normalize_url(joined)
    except InvalidURL:
        return joined, "", "unsupported" if joined_scheme and joined_scheme not in ("http", "https") else "invalid-url"
    return url, fragment, None


# A path from the root (/about.html) or a url with its own host points at the same target from every
# page of a site: resolved and normalised once per site origin, not once per page (urljoin was a third
# of a small page's scan; the navigation links of a site come back on every page). Urls longer than
# SHARED_URL_LENGTH are not kept, so the cache stays within a few MB whatever pages hold.
_target_from_origin = functools.lru_cache(maxsize=8192)(_target)
SHARED_URL_LENGTH = 512


@functools.lru_cache(maxsize=256)
def _origin(base: str) -> str | None:
    """``http(s)://host`` of a base url; None when it is not an http(s) url (or not a url)."""
    try:
        parts = urlsplit(base)
    except ValueError:
        return None
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def _own_host(raw: str) -> bool:
    """Whether ``raw`` names its host (``http://h...``, ``//h...``) or is a path from the root
    (``/a``): urljoin then reads nothing of the base but its scheme and host."""
    if raw[:1] == "/":
        rest = raw[2:] if raw[1:2] == "/" else raw[1:]
        return raw[1:2] != "/" or (rest[:1] not in ("", "/", "?", "#"))
    lowered = raw[:8].lower()
    for prefix in ("http://", "https://"):
        if lowered.startswith(prefix):
            return raw[len(prefix):len(prefix) + 1] not in ("", "/", "?", "#")
    return False


def make_link(base: str, raw: str, element: str, text: str, follow: bool, line: int = 0,
              page: str = "") -> Link | None:
    """A link from an attribute's raw value. ``page`` (the page's own url) turns a fragment-only
    link (``#install``) into a link to the page itself, so its anchor is checked."""
    raw = raw.strip()
    if not raw:
        return None
    if raw.startswith("#"):
        return Link(page, raw[1:], element, text, False, None, line, True) if page and raw != "#" else None
    origin = _origin(base) if base else None
    if origin is not None and len(raw) <= SHARED_URL_LENGTH and _own_host(raw):
        found = _target_from_origin(origin, raw)
    else:
        found = _target(base, raw)
    if found is None:
        return None
    url, fragment, problem = found
    return Link(url, fragment, element, text, follow and problem is None, problem, line)


_UNSEEN = ("", None, False)  # a url not met on the page yet
_URL_NOISE = str.maketrans("", "", "\t\n\r")  # dropped from anywhere in a url, as URL parsers do


class _Collector:
    """Turns elements (tag, attributes, text, line) into links, whichever parser found them, each
    (target, fragment, followed) once. A url met again is not parsed again: what it resolved to is
    kept by how it is written (before its ``#``), so a page of 14,000 links to 434 pages resolves
    434 urls."""

    def __init__(self, base: str, page: str, limit: int = MAX_LINKS) -> None:
        self.base = base
        self.page = page
        self.limit = limit
        self.further = limit * FURTHER_PER_TARGET_CAP
        self.scan = PageScan()
        # A url as written, before "#" -> what it resolved to: (target, problem, the page itself), or None
        # when there is nothing to check (mailto:...).
        self._made: dict[str, tuple[str, str | None, bool] | None] = {}
        self._targets: set[str] = set()
        self._kept: set[tuple[str, str, bool]] = set()
        self._kinds: set[tuple[str, bool]] = set()  # (target, followed) kept, whatever the fragment

    def add(self, raw: str | None, element: str, text: Callable[[], str], follow: bool, line: int,
            web_only: bool = False) -> None:
        """One url as written; ``text`` gives the link's text, not asked for a repeat.
        ``web_only``: a value that may name rather than locate (``cite="urn:isbn:..."``) is kept
        only when it is an http(s) url."""
        if not raw:
            return
        if not raw.isprintable():
            raw = raw.translate(_URL_NOISE)
        head, _, fragment = raw.strip().partition("#")
        if not head and not fragment:  # "", "#": the page itself, nothing to check
            return
        made = self._made.get(head, _UNSEEN)
        if made is not _UNSEEN and made is not None and made[1] is None:  # met before: no parsing again
            target, _, same_page = made
            if fragment and _ALREADY_SAFE.fullmatch(fragment) is None:
                fragment = normalize_url(f"{target}#{fragment}")[1]  # escaped as a whole url's would be
            follow = follow and not same_page
            if self._keep(target, fragment, follow):
                self.scan.links.append(Link(target, fragment, element, _clean(text()), follow, None, line,
                                            same_page))
            return
        if made is _UNSEEN and (len(self._targets) >= self.limit or len(self._made) >= self.limit + self.further):
            self.scan.overflow += 1  # a new url past the cap: counted, never built (no parsing, no object)
            return
        if made is None or (made is not _UNSEEN and web_only):  # nothing to fetch, or a name (cite="urn:...")
            return
        link = make_link(self.base, raw, element, _clean(text()), follow, line, self.page)
        if made is _UNSEEN:
            self._made[head] = None if link is None else (link.target, link.problem, link.same_page)
        # A url with a problem (nothing to fetch) is kept as written, fragment and all.
        if link is not None and not (link.problem and web_only) and self._keep(link.target, link.fragment,
                                                                               link.follow):
            self.scan.links.append(link)

    def _keep(self, target: str, fragment: str, follow: bool) -> bool:
        """Whether a link adds something (a new target, a new fragment of one, a target found as a
        page after it was found as a resource) within the caps; it is then counted as kept. A link
        without a fragment to a target kept already adds nothing."""
        key = (target, fragment, follow)
        if key in self._kept or (not fragment and (target, follow) in self._kinds):
            self.scan.repeats += 1
            return False
        if target not in self._targets:
            if len(self._targets) >= self.limit:
                self.scan.overflow += 1
                return False
            self._targets.add(target)
        elif len(self._kept) - len(self._targets) >= self.further:
            self.scan.overflow += 1  # another fragment of a taken target, past their bound
            return False
        self._kept.add(key)
        self._kinds.add((target, follow))
        return True

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
        """One element's urls (``crawler/url_attributes.py`` says which); ``text``: its label, asked
        only when a link is kept."""
        style = get("style")
        if style:
            for found in declaration_urls(style, line):
                self.add(found.url, "style", str, False, found.line)
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
        for attr, follow, web_only in attrs:
            raw = get(attr)
            if raw is None and attr == "href" and tag in XLINK_TAGS:
                raw = get("xlink:href")  # SVG: href wins when both are there
            if raw:
                self.add(raw, tag, text, follow, line, web_only)
        srcset = SRCSET_ATTRS.get(tag)
        candidates = get(srcset) if srcset else None
        if candidates:
            for raw in parse_srcset(candidates):
                self.add(raw, tag, text, False, line)

    def _meta(self, get: Callable[[str], str | None], line: int) -> None:
        content = get("content") or ""
        if (get("http-equiv") or "").lower() == "refresh":
            found = REFRESH.match(content.strip())
            target = found.group("url").strip("'\"") if found else ""
            if target:
                self.add(target, "meta-refresh", str, True, line)
        else:
            name = (get("property") or get("name") or "").lower()
            if name in IMAGE_METAS:
                self.add(content, "meta", lambda: name, False, line)

    def style_block(self, css: str, line: int) -> None:
        for found in stylesheet_urls(css, line):
            self.add(found.url, "style", str, False, found.line)


TEXT_OF = lxml.etree.XPath("string()")  # an element's text, its descendants' included (no comments)


def _label(el: lxml.etree._Element, tag: str) -> str:
    if tag == "a":
        # Most links hold only text: read it directly (an eighth of the XPath call's cost).
        raw = (el.text or "") if len(el) == 0 else str(TEXT_OF(el))
        if not raw.strip():
            # An image link: its alt text is what a reader sees.
            alts = [img.get("alt") or "" for img in el.iter("img")]
            raw = " ".join(a for a in alts if a) or (el.get("title") or "")
        return raw
    if tag in ("area", "img", "input"):
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
    return not (reader.depth > 0 or any("depth" in str(e.message).lower() for e in parser.error_log))


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


_BASE_TAG = re.compile(rb"<base", re.I)


@functools.lru_cache(maxsize=64)
def _ascii_compatible(encoding: str) -> bool:
    """Whether text in ``encoding`` holds ``<base`` as those very bytes (not so in UTF-16 or EBCDIC)."""
    try:
        return "<base<BASE".encode(encoding) == b"<base<BASE"
    except (LookupError, UnicodeError):
        return False


def base_url(response: TextResponse) -> str:
    """What Scrapy's ``get_base_url`` gives (the page's ``<base href>`` joined to its url, else its
    url made safe), without decoding the whole page to look for a ``<base>`` that most pages lack
    (a tenth of a small page's scan): the bytes are searched first."""
    if _ascii_compatible(response.encoding) and _BASE_TAG.search(response.body) is None:
        url = response.url
        return url if _ALREADY_SAFE.fullmatch(url) else w3lib.html.get_base_url("", url, response.encoding)
    return get_base_url(response)


def scan_page(response: TextResponse, limit: int = MAX_LINKS) -> PageScan:
    """The links and anchors of an HTML page: each (target, fragment, followed) once, to at most
    ``limit`` distinct targets, with at most ``FURTHER_PER_TARGET_CAP * limit`` further fragments of
    them (the rest counted in ``overflow``, repeats in ``repeats``), and its anchors unless it holds
    more than ``limit`` ids."""
    page = response.url.split("#", 1)[0]
    collector = _Collector(base_url(response), page, limit)
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
        collector.add(found.url, "@import" if found.is_import else "css", str, False, found.line)
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
