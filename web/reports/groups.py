"""The report's problem groups: by host and by kind of failure, counted from the compact records the
report already loads (``linkpatrol.store.report_index``), so a 100k-link report costs no extra Redis call."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from linkpatrol.model.verdicts import describe
from linkpatrol.model.wire import ReportRecord

MAX_GROUPS = 10


@dataclass(frozen=True)
class Group:
    """``github.com: 905 links, dns 900, HTTP 404 5``: a name, its count and its kinds, most first."""

    name: str
    count: int
    kinds: list[tuple[str, int]]


def kind(rec: ReportRecord) -> str:
    """``HTTP 404``, a failure kind (``dns``), or the outcome: what the report's status column says."""
    return describe(rec.status, rec.error, rec.outcome)


def host(url: str) -> str:
    try:
        return urlsplit(url).hostname or "(no host)"
    except ValueError:  # crawled pages hold every kind of broken URL
        return "(not a URL)"


def _ranked(counter: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))


def by_host(records: Iterable[ReportRecord], limit: int = MAX_GROUPS) -> list[Group]:
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    for rec in records:
        kinds[host(rec.url)][kind(rec)] += 1
    groups = [Group(name, sum(c.values()), _ranked(c)) for name, c in kinds.items()]
    return sorted(groups, key=lambda g: (-g.count, g.name))[:limit]


def by_kind(records: Iterable[ReportRecord], limit: int = MAX_GROUPS) -> list[Group]:
    hosts: dict[str, Counter[str]] = defaultdict(Counter)
    for rec in records:
        hosts[kind(rec)][host(rec.url)] += 1
    groups = [Group(name, sum(c.values()), _ranked(c)[:3]) for name, c in hosts.items()]
    return sorted(groups, key=lambda g: (-g.count, g.name))[:limit]
