"""Sitemaps: finding them (robots.txt's ``Sitemap:`` lines, else ``/sitemap.xml``) and reading them
(urlsets and sitemap indexes, gzipped or not) with Scrapy's own sitemap utilities."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from linkpatrol.urls import InvalidURL, normalize_url

MAX_SITEMAP_BYTES = 64 * 1024 * 1024  # a sitemap holds at most 50,000 urls and 50 MB, uncompressed
GZIP_MAGIC = b"\x1f\x8b"


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
    probe = await crawler.engine.download_async(Request(default, meta={"dont_obey_robotstxt": True}))
    return [(default, seed)] if probe.status == 200 else []


def read_sitemap(body: bytes, base: str, limit: int | None = None) -> tuple[list[tuple[str, bool]], int]:
    """The urls a sitemap lists, each with True when it is a sitemap itself (an index's entries),
    at most ``limit`` of them, and how many more it listed. A relative ``loc`` (not allowed by the
    protocol, seen in the wild) is read against ``base``."""
    if body.startswith(GZIP_MAGIC):
        body = gunzip(body, max_size=MAX_SITEMAP_BYTES)
    sitemap = Sitemap(body)
    is_index = sitemap.type == "sitemapindex"
    out: list[tuple[str, bool]] = []
    overflow = 0
    for entry in sitemap:
        loc = entry.get("loc")
        if limit is not None and len(out) >= limit:
            overflow += bool(loc)
            continue
        url = _url(loc, base) if loc else None
        if url is not None:
            out.append((url, is_index))
    return out, overflow
