"""The one item the spider produces: what checking one frontier message found."""

from __future__ import annotations

from dataclasses import dataclass, field

from crawler.storage import LinkResult


@dataclass
class CheckedLink:
    crawl_id: str
    result: LinkResult
    is_page: bool = False  # fetched and parsed as a page of the site
    # (target, message, message when over the page budget or "", referrer JSON) per link found
    links: list[tuple[str, str, str, str]] = field(default_factory=list)
    max_pages: int = 0
    release_only: bool = False  # the crawl was cancelled: give the lease back, record nothing
