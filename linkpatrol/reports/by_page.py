"""Problems by the page that holds them: the fix list a site owner works through, page by page (each
page, the line of each broken link in its source, the link). One grouping, read by the report page's
"by page" view (``web.reports``) and every format of ``linkpatrol check`` (``linkpatrol.cli.check.reports``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby

from linkpatrol.model.wire import LinkResult, Referrer


@dataclass(frozen=True)
class Place:
    """A problem link where a site owner fixes it: on a page, at a line of the page's source."""

    page: str  # "" for a target no page links to (the start URL)
    result: LinkResult
    ref: Referrer | None

    @property
    def line(self) -> int:
        return self.ref.line if self.ref else 0


def by_page(results: Iterable[LinkResult]) -> list[tuple[str, list[Place]]]:
    """Each page holding one of ``results`` (sorted; "" first: targets no page links to) with the
    places on it, in the order of the page's source (unknown lines last). Each result carries the
    referrers to place it by (``LinkResult.referrers``)."""
    results = list(results)
    places = [Place(ref.page, res, ref) for res in results for ref in res.referrers]
    places += [Place("", res, None) for res in results if not res.referrers]
    places.sort(key=lambda p: (p.page, p.line or float("inf"), p.result.url))
    return [(page, list(group)) for page, group in groupby(places, key=lambda p: p.page)]
