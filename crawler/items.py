"""The one item the spider produces: what checking one frontier message found."""

from __future__ import annotations

from dataclasses import dataclass, field

from linkpatrol.model.verdicts import CheckMethod
from linkpatrol.model.wire import FoundLink, LinkResult


@dataclass
class CheckedLink:
    crawl_id: str
    result: LinkResult
    is_page: bool = False  # fetched and parsed as a page of the site
    links: list[FoundLink] = field(default_factory=list)
    release_only: bool = False  # the crawl was cancelled: give the lease back, record nothing
    promoted: bool = False  # parsed although queued as a check (an in-scope HTML target of a <link>...)
    method: CheckMethod = CheckMethod.GET  # how the result was decided
    retries: int = 0
    anchors: set[str] | None = None  # the page's ids and <a name>s, when the crawl checks fragments
    from_sitemap: bool = False  # the links are a sitemap's listing
    links_over_cap: int = 0  # links past the per-page cap (LINKPATROL_MAX_LINKS_PER_PAGE), not taken
    link_cap: int = 0  # the cap that applied (a sitemap's is higher than a page's)
    depth_limited: bool = False  # the crawl's depth limit turned some of its page links into checks
