"""Accepted links: the broken links a site owner knows about and accepts, per site.

A site is the crawls of one normalised seed url (``Crawl.url``, as ``CrawlStore.sites`` lists them). Its
accepted links live in one hash (``Keys.site_accepted``: url -> who, when, note), outside every crawl's
keys, at most ``MAX_ACCEPTED`` of them. An accepted url is matched exactly against a crawl's problem urls:
``https://example.org/gone`` accepts that dead link, ``https://example.org/guide#install`` that missing
anchor (and only it).

Nothing is rewritten in a crawl: whether a problem is accepted is decided when it is read, in one place,
``AcceptedLinks.in_crawl``, whose ``InCrawl`` every reader uses: the report's tabs and lists, the diff
(neither new nor fixed), the mail, the webhook and ``linkpatrol check``. Accepting a link today changes
what every kept report of the site says, and undoing it changes it back.

A crawl of ``linkpatrol check`` is no site's; it honours the links accepted for the URL it checked or,
with ``--site-url`` (which its options remap to what was checked: a folder on a temporary server), for
the site at that address, matched after mapping them to the checked copy's urls.
"""

from __future__ import annotations

import builtins
import json
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from linkpatrol.model.options import InvalidOption
from linkpatrol.model.records import Crawl
from linkpatrol.model.urls import MAX_URL_LENGTH, InvalidURL, normalize_url
from linkpatrol.model.verdicts import Outcome
from linkpatrol.model.wire import LinkResult

if TYPE_CHECKING:
    from linkpatrol.store.crawls import CrawlStore

MAX_ACCEPTED = 10_000  # per site
MAX_NOTE = 500  # characters
MAX_BY = 200
BATCH = 5000  # urls per SMISMEMBER / HMGET: no single call grows with the site
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class TooManyAccepted(InvalidOption):
    """The site already has ``MAX_ACCEPTED`` accepted links."""

    def __init__(self) -> None:
        super().__init__("url", f"this site already has {MAX_ACCEPTED:,} accepted links, the most it keeps: "
                                "remove some first")


def site_url(raw: Any) -> str:
    """The site a person named (its start URL), in the normal form sites are keyed by. Raises
    InvalidOption("site", ...)."""
    if not isinstance(raw, str):
        raise InvalidOption("site", "name the site by its start URL, a string")
    try:
        return normalize_url(raw)[0]
    except InvalidURL as exc:
        raise InvalidOption("site", str(exc)) from None


def link_url(raw: Any) -> str:
    """The url to accept as the site's crawls record it: an http(s) URL in its normal form with its
    ``#fragment`` kept (a missing anchor); anything else (the url of an ``invalid-url`` row) as it is."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidOption("url", "give the URL of the link to accept")
    raw = raw.strip()
    if len(raw) > 2 * MAX_URL_LENGTH:
        raise InvalidOption("url", f"a URL here has at most {2 * MAX_URL_LENGTH:,} characters")
    if _CONTROL.search(raw):
        raise InvalidOption("url", "a URL cannot contain line breaks or control characters")
    try:
        url, fragment = normalize_url(raw)
    except InvalidURL:
        return raw  # a broken URL a page holds is reported as it was written
    return f"{url}#{fragment}" if fragment else url


def _text(raw: Any, name: str, top: int) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise InvalidOption(name, "must be text")
    text = " ".join(_CONTROL.sub(" ", raw).split())
    if len(text) > top:
        raise InvalidOption(name, f"at most {top} characters")
    return text


@dataclass(frozen=True)
class AcceptedLink:
    """One accepted url of a site: who accepted it (a user name, ``token`` for the API token, "" when
    nobody signs in), when (epoch seconds) and why (an optional note)."""

    url: str
    by: str = ""
    at: float = 0.0
    note: str = ""

    def stored(self) -> str:
        return json.dumps({"by": self.by, "at": self.at, "note": self.note}, separators=(",", ":"))

    @classmethod
    def from_stored(cls, url: str, raw: str | None) -> AcceptedLink:
        try:
            data = json.loads(raw or "{}")
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        return cls(url, str(data.get("by", "")), float(data.get("at") or 0), str(data.get("note", "")))


@dataclass(frozen=True)
class InCrawl:
    """The accepted links of a crawl's site as that crawl sees them. ``entries``: every accepted url of
    the site, spelt as the crawl's results are; ``results``: the crawl's problems among them (sorted by
    url), each with its ``links`` entry. Every count of a report, a diff, a mail, a webhook and a check
    that leaves accepted links out is computed from this."""

    site: str | None
    entries: frozenset[str] = frozenset()
    results: list[LinkResult] = field(default_factory=list)
    links: dict[str, AcceptedLink] = field(default_factory=dict)

    @cached_property
    def urls(self) -> frozenset[str]:
        """The crawl's accepted problem urls."""
        return frozenset(res.url for res in self.results)

    @property
    def total(self) -> int:
        return len(self.results)

    @cached_property
    def counts(self) -> Counter[str]:
        """Accepted problems by outcome."""
        return Counter(str(res.outcome) for res in self.results)

    def count(self, outcomes: Iterable[str]) -> int:
        wanted = {str(o) for o in outcomes}
        return sum(n for outcome, n in self.counts.items() if outcome in wanted)

    def outcome_counts(self, crawl: Crawl) -> dict[Outcome, int]:
        """The crawl's counts by outcome with its accepted problems left out (they are counted apart)."""
        counts = self.counts
        return {o: max(0, crawl.outcome_count(o) - counts.get(str(o), 0)) for o in Outcome}

    def split(self, results: Iterable[LinkResult]) -> tuple[list[LinkResult], list[LinkResult]]:
        """``results`` (of this crawl) as (not accepted, accepted)."""
        kept: list[LinkResult] = []
        accepted: list[LinkResult] = []
        for res in results:
            (accepted if res.url in self.entries else kept).append(res)
        return kept, accepted


def crawl_site(crawl: Crawl) -> tuple[str, str, str]:
    """Whose accepted links a crawl honours, and how its urls spell theirs: (site, the site's prefix,
    the crawl's). A site's crawl: its own seed, urls as they are. A crawl of ``linkpatrol check`` with
    ``--site-url``: that address, mapped to the checked copy; without it, the URL it checked."""
    if crawl.by_check and len(crawl.options.remap) == 1:
        [(shown, local)] = crawl.options.remap.items()
        return shown, shown, local
    return crawl.url, "", ""


class AcceptedLinks:
    """Accept, list and undo the accepted links of a site; decide which problems of a crawl they cover."""

    def __init__(self, store: CrawlStore) -> None:
        self.r: Any = store.r
        self.keys = store.keys

    def count(self, site: str) -> int:
        return int(self.r.hlen(self.keys.site_accepted(site)))

    def list(self, site: str) -> builtins.list[AcceptedLink]:
        """Every accepted link of the site, newest first."""
        stored = self.r.hgetall(self.keys.site_accepted(site))
        found = [AcceptedLink.from_stored(url, raw) for url, raw in stored.items()]
        return sorted(found, key=lambda link: (-link.at, link.url))

    def get(self, site: str, url: str) -> AcceptedLink | None:
        raw = self.r.hget(self.keys.site_accepted(site), url)
        return AcceptedLink.from_stored(url, raw) if raw is not None else None

    def accept(self, site: str, url: str, by: str = "", note: str | None = "",
               at: float | None = None) -> tuple[AcceptedLink, bool]:
        """Accept ``url`` for ``site`` (both as ``site_url`` and ``link_url`` give them), or update the
        note of an accepted one (``note``: text, or None for none). Returns the link and whether it is
        new. Raises TooManyAccepted, or InvalidOption for a note that is not text or too long."""
        link = AcceptedLink(url, _text(by, "by", MAX_BY), time.time() if at is None else at,
                            _text(note, "note", MAX_NOTE))
        key = self.keys.site_accepted(site)
        created = False

        def write(pipe: Any) -> None:
            nonlocal created
            created = not pipe.hexists(key, url)
            if created and pipe.hlen(key) >= MAX_ACCEPTED:
                raise TooManyAccepted()
            pipe.multi()
            pipe.hset(key, url, link.stored())

        self.r.transaction(write, key)
        return link, created

    def remove(self, site: str, url: str) -> bool:
        """Undo: the link counts as broken again. False when it was not accepted."""
        return bool(self.r.hdel(self.keys.site_accepted(site), url))

    def entries(self, site: str) -> frozenset[str]:
        return frozenset(self.r.hkeys(self.keys.site_accepted(site)))

    def in_crawl(self, crawl: Crawl) -> InCrawl:
        """The site's accepted links among the crawl's problems: a few round trips (the site's urls, which
        of them the crawl's problem set holds, their results and entries), none when the site has none."""
        site, shown, local = crawl_site(crawl)
        stored = sorted(self.entries(site))
        if not stored:
            return InCrawl(site)
        spelt = {(local + url[len(shown):] if shown and url.startswith(shown) else url): url for url in stored}
        candidates = sorted(spelt)
        pipe = self.r.pipeline(transaction=False)
        for start in range(0, len(candidates), BATCH):
            pipe.smismember(self.keys.problems(crawl.id), candidates[start:start + BATCH])
        member = [bool(flag) for reply in pipe.execute() for flag in reply]
        found = [url for url, flag in zip(candidates, member, strict=True) if flag]
        results: builtins.list[LinkResult] = []
        links: dict[str, AcceptedLink] = {}
        if found:
            pipe = self.r.pipeline(transaction=False)
            for start in range(0, len(found), BATCH):
                pipe.hmget(self.keys.urls(crawl.id), found[start:start + BATCH])
                pipe.hmget(self.keys.site_accepted(site), [spelt[url] for url in found[start:start + BATCH]])
            replies = pipe.execute()
            raws = [raw for chunk in replies[0::2] for raw in chunk]
            notes = [raw for chunk in replies[1::2] for raw in chunk]
            for url, raw, note in zip(found, raws, notes, strict=True):
                if raw:
                    results.append(LinkResult.from_json(url, raw))
                    links[url] = AcceptedLink.from_stored(spelt[url], note)
        return InCrawl(site, frozenset(candidates), results, links)
