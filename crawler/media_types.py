"""What an answer's Content-Type says it is, told one way by everything that reads it (the spider, the
download limits, the sitemap probe)."""

from __future__ import annotations

HTML_TYPES = (b"text/html", b"application/xhtml+xml")
CSS_TYPES = (b"text/css",)


def media_type(content_type: bytes | None) -> bytes:
    """``b"text/html; charset=utf-8"`` -> ``b"text/html"``; no header -> ``b""``."""
    return (content_type or b"").split(b";", 1)[0].strip().lower()


def is_html(content_type: bytes | None) -> bool:
    return media_type(content_type) in HTML_TYPES


def is_css(content_type: bytes | None) -> bool:
    return media_type(content_type) in CSS_TYPES
