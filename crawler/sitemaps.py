"""Sitemaps: finding them (robots.txt's ``Sitemap:`` lines, else ``/sitemap.xml``) and reading them
(urlsets and sitemap indexes, gzipped or not) with Scrapy's own sitemap utilities.

A sitemap that is not a sitemap (an HTML page served at ``/sitemap.xml`` by a site that answers 200
to every path, bytes that decode as nothing, a truncated or oversized gzip) is simply no sitemap:
``read_sitemap`` raises ``NotASitemap`` and nothing else, never ``StopIteration`` (Scrapy's
``Sitemap`` raises it on a body without an XML root, and raised in a worker thread it never reaches
the awaiting task: the task died with its lease, and the crawl never ended). A gzipped sitemap
(``.xml.gz``, served without a Content-Encoding) is decoded up to the crawl's size cap, as any
answer is (``DecodedSizeMiddleware``): past it, ``SitemapTooLarge``, and the sitemap's verdict is
``too-large``."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils._compression import _DecompressionMaxSizeExceeded
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from crawler.media_types import is_html
from linkpatrol.model.urls import InvalidURL, normalize_url

GZIP_MAGIC = b"\x1f\x8b"
SITEMAP_ROOTS = frozenset({"urlset", "sitemapindex"})
SNIFF_BYTES = 16 * 1024  # what the /sitemap.xml probe reads to tell a sitemap from an HTML page
HTML_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)[\s>]",
                        re.IGNORECASE | re.DOTALL)


class NotASitemap(ValueError):
    """The body is not a sitemap this crawler can read; the message says why."""


class SitemapTooLarge(NotASitemap):
    """The body is gzipped and decodes to more than the crawl's size cap."""


def _url(raw: str, base: str) -> str | None:
    try:
        return normalize_url(urljoin(base, raw.strip()))[0]
    except (InvalidURL, ValueError):
        return None


async def _robots_sitemaps(crawler: Any, seed: str, robots: str) -> list[str]:
    """robots.txt's Sitemap: lines: from the parser Scrapy's robots.txt middleware already holds for
    the host (robots.txt is fetched once), else fetched here (the middleware is off)."""
    middleware = crawler.get_downloader_middleware(RobotsTxtMiddleware)
    if middleware is not None:
        parser = await middleware.robot_parser(Request(seed))
        return list(getattr(getattr(parser, "rp", None), "sitemaps", None) or [])
    response = await crawler.engine.download_async(Request(robots, meta={"dont_obey_robotstxt": True}))
    return list(sitemap_urls_from_robots(response.body, base_url=robots)) if response.status == 200 else []


async def discover_sitemaps(crawler: Any, seed: str) -> list[tuple[str, str]]:
    """The crawl's sitemaps as (url, where it was named): robots.txt's Sitemap: lines, else
    /sitemap.xml when it answers 200. Fetched through the engine, so every middleware applies."""
    robots = urljoin(seed, "/robots.txt")
    found = [(url, robots) for url in (_url(raw, robots) for raw in await _robots_sitemaps(crawler, seed, robots))
             if url is not None]
    if found:
        return found
    default = urljoin(seed, "/sitemap.xml")
    # Only the first bytes are read (``crawler/body_limits.py`` stops it at SNIFF_BYTES): enough
    # to tell an HTML page (a site answering 200 to every path) from a sitemap.
    try:
        probe = await crawler.engine.download_async(
            Request(default, meta={"dont_obey_robotstxt": True, "lp_probe": SNIFF_BYTES}))
    except IgnoreRequest:
        return []
    if probe.status != 200 or not looks_like_sitemap(probe.body, probe.headers.get(b"Content-Type")):
        return []
    return [(default, seed)]


def looks_like_sitemap(head: bytes, content_type: bytes | None = None) -> bool:
    """Whether the first bytes of an answer may be a sitemap: not empty, not served as HTML, not an
    HTML document. Gzip is given the benefit of the doubt (``read_sitemap`` decides)."""
    if not head.strip() or is_html(content_type):
        return False
    if head.startswith(GZIP_MAGIC):
        return True
    return HTML_START.match(head[:SNIFF_BYTES]) is None


def read_sitemap(body: bytes, base: str, limit: int | None = None, *, max_size: int,
                 ) -> tuple[list[tuple[str, bool]], int]:
    """The urls a sitemap lists, each with True when it is a sitemap itself (an index's entries),
    at most ``limit`` of them, and how many more it listed. A relative ``loc`` (not allowed by the
    protocol, seen in the wild) is read against ``base``. A gzipped body is decoded up to
    ``max_size`` bytes (the crawl's size cap), past which it raises ``SitemapTooLarge``. Raises
    ``NotASitemap`` (and nothing else) for a body that is not one; a sitemap cut short gives the
    entries before the cut."""
    if body.startswith(GZIP_MAGIC):
        try:
            body = gunzip(body, max_size=max(max_size, 1))
        except _DecompressionMaxSizeExceeded:
            # Raised afresh, outside the except clause: its traceback holds what was decoded so far.
            too_large = True
        except Exception as exc:  # truncated, corrupt (OSError, EOFError, struct.error)
            raise NotASitemap(f"cannot decompress it ({exc.__class__.__name__})") from None
        else:
            too_large = False
        if too_large:
            raise SitemapTooLarge(f"it decodes to more than the crawl's size cap ({max_size} bytes)")
    try:
        sitemap = Sitemap(body)
    except StopIteration:  # no XML element at all: HTML, text, random bytes
        raise NotASitemap("no XML document") from None
    except Exception as exc:  # lxml's XMLSyntaxError and the like
        raise NotASitemap(f"not XML ({exc.__class__.__name__})") from None
    if sitemap.type not in SITEMAP_ROOTS:
        raise NotASitemap(f"its root is <{sitemap.type or '?'}>, not <urlset> or <sitemapindex>")
    is_index = sitemap.type == "sitemapindex"
    out: list[tuple[str, bool]] = []
    overflow = 0
    try:
        for entry in sitemap:
            loc = entry.get("loc")
            if limit is not None and len(out) >= limit:
                overflow += bool(loc)
                continue
            url = _url(loc, base) if loc else None
            if url is not None:
                out.append((url, is_index))
    except Exception:  # an error past the first entries: what was read before it stands
        if not out:
            raise NotASitemap("not a well-formed sitemap") from None
    return out, overflow
