"""The ``auto`` rule: does a page's static HTML look like an application shell that scripts fill in?

A page is rendered when its HTML, as the server sent it, has scripts and one of:

- ``empty-mount``: an empty mount element, one of the ids and attributes the common frameworks mount
  into (``#root``, ``#app``, ``#__next``, ``#__nuxt``, ``#___gatsby``, ``#svelte``, ``[data-reactroot]``,
  ``[ng-app]``, ``<app-root>``...) with no child element and no text;
- ``noscript``: a ``<noscript>`` that asks for JavaScript ("You need to enable JavaScript to run this
  app", "requires JavaScript", "please enable JavaScript");
- ``few-links``: fewer than ``FEW_LINKS`` ``<a href>`` in the body that lead to another page (not
  ``#...`` nor ``javascript:``) and under ``FEW_WORDS`` characters of text outside scripts: a page that
  shows nearly nothing without them.

Pages without any ``<script>`` are never rendered: nothing would change. docs/RENDERING.md gives the
rule and the pages it was decided from.
"""

from __future__ import annotations

import re

import lxml.etree
import lxml.html

MOUNT_IDS = frozenset({"root", "app", "__next", "__nuxt", "___gatsby", "svelte", "main-app", "app-root", "q-app"})
MOUNT_ATTRIBUTES = ("data-reactroot", "ng-app", "data-server-rendered", "data-v-app")
MOUNT_TAGS = frozenset({"app-root"})  # Angular's default root component
ASKS_FOR_JS = re.compile(r"(enable|requires?|needs?|turn on|activate)\W+(\w+\W+){0,3}javascript|javascript\W+"
                         r"(\w+\W+){0,3}(required|enabled|disabled|needed)", re.I)
FEW_LINKS = 2
FEW_WORDS = 200
MAX_SNIFF = 2 * 1024 * 1024  # bytes of a page looked at: a shell is small


def shell_reason(body: bytes, encoding: str = "utf-8") -> str | None:
    """Why the page should be rendered (``empty-mount``, ``noscript``, ``few-links``), None if not."""
    if not body or b"<script" not in body[:MAX_SNIFF].lower():
        return None
    try:
        parser = lxml.html.HTMLParser(encoding=encoding, remove_comments=True)
        root = lxml.html.document_fromstring(body[:MAX_SNIFF], parser=parser)
    except (lxml.etree.ParserError, ValueError, LookupError):
        return None
    if not root.xpath("//script"):
        return None
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if (el.get("id") in MOUNT_IDS or el.tag in MOUNT_TAGS or any(a in el.attrib for a in MOUNT_ATTRIBUTES)) \
                and len(el) == 0 and not (el.text or "").strip():
            return "empty-mount"
    for noscript in root.iter("noscript"):
        if ASKS_FOR_JS.search(noscript.text_content() or ""):
            return "noscript"
    body_el = root.find("body")
    if body_el is None:
        return None
    # Links that lead somewhere: a hash route (#/about) or javascript: is drawn by the scripts anyway.
    links = [a for a in body_el.xpath(".//a[@href]")
             if not (a.get("href") or "").strip().lower().startswith(("#", "javascript:"))]
    if len(links) < FEW_LINKS:
        shown = sum(len(t.strip()) for t in _visible_text(body_el))
        if shown < FEW_WORDS:
            return "few-links"
    return None


def _visible_text(el: lxml.html.HtmlElement) -> list[str]:
    """The text of ``el`` outside scripts, styles, templates and noscripts."""
    out: list[str] = []
    for node in el.iter():
        if not isinstance(node.tag, str) or node.tag in ("script", "style", "template", "noscript"):
            if node.tail:
                out.append(node.tail)
            continue
        if node.text:
            out.append(node.text)
        if node.tail and node is not el:
            out.append(node.tail)
    return out
