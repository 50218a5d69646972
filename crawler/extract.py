"""Link extraction from an HTML page: every element that points at something a visitor needs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from scrapy.http import HtmlResponse
from scrapy.utils.response import get_base_url

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
    "video": ("src", "poster"),
    "audio": ("src",),
}
SRCSET_TAGS = frozenset({"img", "source"})
# Elements whose in-scope targets are pages to crawl; the others are resources to check.
FOLLOW_TAGS = frozenset({"a", "area", "iframe"})
# <link rel=...> values that name an origin to warm up, not a resource that must exist.
HINT_RELS = frozenset({"preconnect", "dns-prefetch"})
MAX_TEXT = 200
XPATH = "|".join(f"//{tag}" for tag in URL_ATTRS)


@dataclass(frozen=True)
class Link:
    target: str  # normalised url without fragment, or the raw string when it cannot be fetched
    fragment: str
    element: str
    text: str
    follow: bool  # an anchor-like element: in scope, the target is a page to parse
    problem: str | None = None  # "invalid-url" or "unsupported": nothing to fetch


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


def _text(el: object, tag: str) -> str:
    if tag in ("a", "area"):
        raw = el.text_content() if tag == "a" else (el.get("alt") or "")  # type: ignore[attr-defined]
        if not raw.strip() and tag == "a":
            # An image link: its alt text is what a reader sees.
            alts = [img.get("alt") or "" for img in el.iter("img")]  # type: ignore[attr-defined]
            raw = " ".join(a for a in alts if a) or (el.get("title") or "")  # type: ignore[attr-defined]
    elif tag == "img":
        raw = el.get("alt") or ""  # type: ignore[attr-defined]
    else:
        raw = el.get("title") or ""  # type: ignore[attr-defined]
    return " ".join(raw.split())[:MAX_TEXT]


def make_link(base: str, raw: str, element: str, text: str, follow: bool) -> Link | None:
    raw = raw.strip()
    if not raw or raw.startswith("#"):
        return None
    scheme = raw.split(":", 1)[0].lower() if ":" in raw else ""
    if scheme in IGNORED_SCHEMES:
        return None
    try:
        joined = urljoin(base, raw)
    except ValueError:
        return Link(raw, "", element, text, False, "invalid-url")
    joined_scheme = urlsplit(joined).scheme.lower() if ":" in joined else ""
    if joined_scheme in IGNORED_SCHEMES:
        return None
    try:
        url, fragment = normalize_url(joined)
    except InvalidURL:
        problem = "unsupported" if joined_scheme and joined_scheme not in ("http", "https") else "invalid-url"
        return Link(joined, "", element, text, False, problem)
    return Link(url, fragment, element, text, follow)


def extract_links(response: HtmlResponse) -> list[Link]:
    base = get_base_url(response)
    links: list[Link] = []
    for sel in response.xpath(XPATH):
        el = sel.root
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if tag == "link" and HINT_RELS.intersection((el.get("rel") or "").lower().split()):
            continue
        text = _text(el, tag)
        follow = tag in FOLLOW_TAGS
        values = [el.get(attr) for attr in URL_ATTRS.get(tag, ())]
        if tag in SRCSET_TAGS and el.get("srcset"):
            values.extend(parse_srcset(el.get("srcset")))
        for raw in values:
            if raw is None:
                continue
            link = make_link(base, raw, tag, text, follow)
            if link is not None:
                links.append(link)
    return links
