"""Which attributes of HTML and SVG hold a URL, and what the crawler does with each: one declaration,
from which the extractor's lookup tables (``crawler/extract.py``) and the table of
docs/EXTRACTION.md are derived (``python -m crawler.url_attributes`` rewrites the table; a test
checks that the page matches).

Worked from the attribute indexes of the HTML living standard (its obsolete features included, where
browsers still render them) and of SVG 2 (with the SVG 1.1 elements browsers still read). Tag and
attribute names are as the parsers give them: lower case (libxml2 and ``html.parser`` both lower
``feImage`` to ``feimage``), and ``xlink:href`` as one attribute name.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Use(StrEnum):
    FOLLOW = "followed"  # a page: crawled when in scope, checked otherwise
    CHECK = "checked"  # a resource that must exist: checked, never crawled (an in-scope HTML answer is parsed)
    SPECIAL = "read"  # read by code of its own (meta, CSS, base), described in ``why``
    IGNORE = "not extracted"


@dataclass(frozen=True)
class UrlAttribute:
    attribute: str
    elements: tuple[str, ...]
    use: Use
    spec: str
    why: str
    srcset: bool = False  # a list of image candidates (``parse_srcset``), not one url
    xlink: bool = False  # SVG: ``xlink:href`` stands in when ``href`` is absent (SVG 2: href wins)
    web_only: bool = False  # may be a name rather than a place (``urn:isbn:...``): only http(s) and relative urls


F, C, S, N = Use.FOLLOW, Use.CHECK, Use.SPECIAL, Use.IGNORE
HTML, OLD, SVG2, SVG1 = "HTML", "HTML, obsolete", "SVG 2", "SVG 1.1"
_REFERENCE = "a reference to another element: `#id` of the page itself is checked as the page's anchor, " \
             "another file is checked"
ATTRIBUTES: tuple[UrlAttribute, ...] = (
    # HTML: pages
    UrlAttribute("href", ("a", "area"), F, HTML, "a hyperlink"),
    UrlAttribute("src", ("iframe", "frame"), F, HTML, "a page shown inside the page (`frame`: obsolete, still shown)"),
    UrlAttribute("content", ("meta",), S, HTML,
                 "`http-equiv=refresh`: where the page sends the reader, followed like a hyperlink; `og:image`, "
                 "`twitter:image`: the image shown when the page is shared, checked"),
    UrlAttribute("href", ("base",), S, HTML, "the base every other url of the page is resolved against"),
    UrlAttribute("style", ("*",), S, HTML,
                 "CSS: `url()` values are checked (so are `<style>` blocks, and the site's stylesheets with "
                 "their `@import`s)"),
    # HTML: resources
    UrlAttribute("href", ("link",), C, HTML,
                 "stylesheets, icons, `rel=next`, `canonical`, `alternate`...; `rel=preconnect` and "
                 "`dns-prefetch` name an origin to warm up, not a resource: skipped"),
    UrlAttribute("imagesrcset", ("link",), C, HTML, "the image candidates a `rel=preload` fetches", srcset=True),
    UrlAttribute("src", ("img", "source", "script", "audio", "video", "track", "embed"), C, HTML,
                 "fetched by the browser to show the page"),
    UrlAttribute("srcset", ("img", "source"), C, HTML, "every image candidate", srcset=True),
    UrlAttribute("poster", ("video",), C, HTML, "the image shown before the video plays"),
    UrlAttribute("data", ("object",), C, HTML, "the resource the object shows"),
    UrlAttribute("src", ("image",), C, HTML, "HTML's parser reads an `<image>` outside SVG as an `<img>`"),
    UrlAttribute("src", ("input",), C, HTML, "`type=image` only: the button's image"),
    UrlAttribute("cite", ("blockquote", "q", "del", "ins"), C, HTML,
                 "the source of a quotation or an edit, for readers to look up; only a web address "
                 "(`urn:isbn:...` names a book, not a place)", web_only=True),
    UrlAttribute("longdesc", ("img", "iframe", "frame"), C, OLD, "a page that describes the image, read by "
                 "screen-reader users"),
    UrlAttribute("background", ("body", "table", "thead", "tbody", "tfoot", "tr", "td", "th"), C, OLD,
                 "still rendered by browsers as the background image"),
    # HTML: not extracted
    UrlAttribute("ping", ("a", "area"), N, HTML, "a POST beacon sent on click; a GET says nothing about it"),
    UrlAttribute("action", ("form",), N, HTML,
                 "submits a form: fetching it could act (subscribe, delete), and a POST endpoint answers "
                 "405 to GET"),
    UrlAttribute("formaction", ("button", "input"), N, HTML, "as `form action`"),
    UrlAttribute("usemap", ("img", "object"), N, HTML, "names a `<map>` of the page (`#name`), not a url"),
    UrlAttribute("srcdoc", ("iframe",), N, HTML, "an inline document, not a url (its links are not read)"),
    UrlAttribute("itemtype", ("*",), N, HTML, "a microdata vocabulary (schema.org): a name, never fetched"),
    UrlAttribute("itemid", ("*",), N, HTML, "a global identifier: a name, never fetched"),
    UrlAttribute("xmlns", ("*",), N, HTML, "a namespace name (`xmlns:xlink` too), never fetched"),
    UrlAttribute("manifest", ("html",), N, OLD, "the application cache, gone from browsers: never fetched"),
    UrlAttribute("lowsrc", ("img",), N, OLD, "no current browser fetches it"),
    UrlAttribute("profile", ("head",), N, OLD, "metadata profile names, never fetched"),
    UrlAttribute("codebase, classid, archive", ("object", "applet"), N, OLD,
                 "plug-in code: no current browser runs it"),
    # SVG (inline in HTML): href, or xlink:href when href is absent
    UrlAttribute("href", ("a",), F, SVG2, "a hyperlink", xlink=True),
    UrlAttribute("href", ("use", "image", "feimage", "script"), C, SVG2,
                 "the file drawn or run: checked; its `#fragment` (an icon of a sprite) is not, as the crawler "
                 "does not read SVG files for ids; `#id` of the page itself is checked as the page's anchor",
                 xlink=True),
    UrlAttribute("href", ("lineargradient", "radialgradient", "pattern", "textpath", "mpath", "animate",
                          "animatemotion", "animatetransform", "set", "discard"), C, SVG2, _REFERENCE, xlink=True),
    UrlAttribute("href", ("filter", "tref", "cursor"), C, SVG1, _REFERENCE, xlink=True),
    UrlAttribute("fill, stroke, clip-path, mask, filter, marker-*", ("*",), N, SVG2,
                 "`url(#id)` presentation attributes: on any drawn shape and nearly always `#id` of the same "
                 "drawing (the same in a `style` attribute is read, as CSS)"),
)


Extracted = tuple[str, bool, bool]  # attribute, followed, web addresses only


def _tables() -> tuple[dict[str, tuple[Extracted, ...]], dict[str, str], frozenset[str]]:
    urls: dict[str, dict[str, Extracted]] = {}
    srcsets: dict[str, str] = {}
    xlink: set[str] = set()
    for row in ATTRIBUTES:
        if row.use not in (Use.FOLLOW, Use.CHECK):
            continue
        for tag in row.elements:
            attrs = urls.setdefault(tag, {})
            if row.srcset:
                srcsets[tag] = row.attribute
            else:
                attrs[row.attribute] = (row.attribute, row.use is Use.FOLLOW, row.web_only)
            if row.xlink:
                xlink.add(tag)
    return {tag: tuple(attrs.values()) for tag, attrs in urls.items()}, srcsets, frozenset(xlink)


# Element -> what to read of it: (attribute, followed, web only) triples; element -> its srcset-like
# attribute; SVG elements whose href may be written xlink:href.
URL_ATTRS, SRCSET_ATTRS, XLINK_TAGS = _tables()


def table() -> str:
    """The Markdown table of docs/EXTRACTION.md."""
    lines = ["| Attribute | Elements | Spec | What the crawler does | Why |", "|---|---|---|---|---|"]
    for row in ATTRIBUTES:
        attribute = ", ".join(f"`{name}`" for name in row.attribute.split(", "))
        attribute += " (or `xlink:href`)" if row.xlink else ""
        attribute += " (candidates)" if row.srcset else ""
        elements = ", ".join("any" if e == "*" else f"`{e}`" for e in row.elements)
        lines.append(f"| {attribute} | {elements} | {row.spec} | {row.use} | {row.why} |")
    return "\n".join(lines) + "\n"


BEGIN = "<!-- table: generated by `python -m crawler.url_attributes` from crawler/url_attributes.py -->\n"
END = "<!-- end of the generated table -->"
DOC = Path(__file__).resolve().parent.parent / "docs" / "EXTRACTION.md"


def documented(text: str) -> str | None:
    """The generated table as it stands in the text of docs/EXTRACTION.md (None: no table there)."""
    found = re.search(re.escape(BEGIN) + r"(.*?)" + re.escape(END), text, re.S)
    return found.group(1) if found else None


def main() -> None:
    text = DOC.read_text()
    if documented(text) is None:
        sys.exit(f"{DOC}: no generated table to replace")
    DOC.write_text(re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: BEGIN + table() + END, text,
                          flags=re.S))


if __name__ == "__main__":
    main()
