"""The crawl record: a crawl's state, counters, limits and what stopped it. Its options, and the
validation every way of starting a crawl shares (the form, the JSON API, the command line and a JSON
start message in Redis), are ``linkpatrol.model.options``."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from linkpatrol.model.option_values import duration_text
from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.verdicts import STATUS_CLASSES, CheckMethod, ErrorKind, Outcome

# ``dead`` is ``outcome_dead``: a counter "broken" that crawlers before this version also wrote held
# the same number and is no longer read.
# Why a page is loaded in a headless browser (the crawl's ``render`` option, docs/RENDERING.md): ``always``,
# or the rule of ``crawler.render.detect`` its HTML matched under ``auto``.
RENDER_REASONS = {
    "always": "every page (render: always)",
    "empty-mount": "an empty mount element (#root, #app, #__next...) and scripts",
    "noscript": "a noscript asking for JavaScript",
    "few-links": "scripts and next to no links or text",
}
COUNTERS = (
    "pages_crawled",
    "links_checked",
    "redirected",
    *(f"outcome_{o}" for o in Outcome),
    *(f"status_{c}" for c in STATUS_CLASSES),
    # How results were decided (verdicts.CheckMethod), retries spent, and failures per error kind.
    *(f"checked_{m}" for m in CheckMethod),
    "retries",
    *(f"error_{k}" for k in ErrorKind),
    # Held back by the crawl's limits: links past the per-page cap (not taken), urls of a possible
    # crawl trap (checked, not crawled).
    "links_over_cap",
    "links_over_cap_pages",  # the pages those links were on (each named in ``CrawlStore.over_cap_pages``)
    "trap_held",
    # Pages found to need a browser, by why (the crawl's render option; crawler/render): counted once a url.
    *(f"render_why_{why}" for why in RENDER_REASONS),
)
# Record fields that say why a crawl stopped early or held urls back (written by the frontier's
# scripts): "1" flags, the first page over the link cap, that cap, the first trap's prefix and kind.
LIMIT_FIELDS = ("limit_pages", "limit_depth", "limit_duration", "links_over_cap_page", "link_cap", "trap_under",
                "trap_kind", "max_pages", "max_depth", "max_duration", "render_unavailable")
TRAP_KINDS = {
    "repeat": "a path segment repeating",
    "query": "a query growing without end",
    "ids": "the same page under ever new numbers",
}


class Origin(StrEnum):
    """What made a crawl (the record's ``origin``; older records have none). Crawls of ``linkpatrol
    check`` are listed apart from the sites' crawls and are no site's history (``store.NewCrawl.write``)."""

    UI = "ui"
    API = "api"
    CLI = "cli"  # linkpatrol enqueue
    SCHEDULE = "schedule"
    START_QUEUE = "start-queue"
    CHECK = "check"


class CrawlState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    CANCELLED = "cancelled"

    @property
    def is_active(self) -> bool:
        return self in (CrawlState.QUEUED, CrawlState.RUNNING)


# -- the record ---------------------------------------------------------------------------------------
@dataclass
class Crawl:
    id: str
    url: str
    host: str
    state: str
    options: CrawlOptions
    created_at: float
    started_at: float | None
    finished_at: float | None
    counters: dict[str, int]
    limits: dict[str, str] = field(default_factory=dict)  # LIMIT_FIELDS present in the record
    origin: str = ""  # an Origin; "" for a record written before crawls said what made them

    @property
    def by_check(self) -> bool:
        """Made by ``linkpatrol check``: no site's crawl (a CI run, or a folder on a temporary server)."""
        return self.origin == Origin.CHECK

    @property
    def pages_crawled(self) -> int:
        return self.counters.get("pages_crawled", 0)

    @property
    def links_checked(self) -> int:
        return self.counters.get("links_checked", 0)

    @property
    def dead(self) -> int:
        """Links found dead (``Outcome.DEAD`` only; ``Outcome.fails_check`` adds the missing anchors)."""
        return self.outcome_count(Outcome.DEAD)

    @property
    def broken(self) -> int:
        """Deprecated (one release): ``dead``, the name this count always meant."""
        return self.dead

    @property
    def is_active(self) -> bool:
        return self.state in (CrawlState.QUEUED, CrawlState.RUNNING)

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.finished_at or time.time()) - self.started_at

    def outcome_count(self, outcome: Outcome) -> int:
        return self.counters.get(f"outcome_{outcome}", 0)

    @property
    def outcome_counts(self) -> dict[str, int]:
        return {str(o): self.outcome_count(o) for o in Outcome}

    @property
    def other_count(self) -> int:
        """Links neither alive nor dead (``verdicts.OTHER_OUTCOMES``): the same number on every page,
        in the API and in the mail."""
        return sum(self.outcome_count(o) for o in Outcome if o.is_other)

    @property
    def status_class_counts(self) -> dict[str, int]:
        return {c: self.counters.get(f"status_{c}", 0) for c in STATUS_CLASSES}

    @property
    def check_counts(self) -> dict[str, int]:
        """How the results were decided: GET, HEAD, HEAD then GET, for the whole host, no request."""
        return {str(m): self.counters.get(f"checked_{m}", 0) for m in CheckMethod}

    @property
    def error_counts(self) -> dict[str, int]:
        """Results per error kind, the kinds that occurred only, most frequent first."""
        found = {str(k): self.counters.get(f"error_{k}", 0) for k in ErrorKind}
        return dict(sorted(((k, n) for k, n in found.items() if n), key=lambda kv: (-kv[1], kv[0])))

    @property
    def retries(self) -> int:
        return self.counters.get("retries", 0)

    @property
    def redirected(self) -> int:
        return self.counters.get("redirected", 0)

    @property
    def stop_reasons(self) -> list[str]:
        """Why the crawl stopped early or left urls out, one sentence each (the report page, the API's
        ``stop_reasons``, the command line)."""
        lim, out = self.limits, []
        if lim.get("limit_duration"):
            took = self.options.max_duration or int(lim.get("max_duration") or 0)
            out.append(f"time limit reached ({duration_text(took)}): the crawl was stopped" if took
                       else "time limit reached: the crawl was stopped")
        if lim.get("limit_pages"):
            budget = self.options.max_pages or int(lim.get("max_pages") or 0)
            out.append(f"page budget reached ({budget:,} page{'s' if budget != 1 else ''}): "
                       "further pages were checked, not crawled")
        if lim.get("limit_depth"):
            depth = self.options.max_depth if self.options.max_depth is not None else lim.get("max_depth", "?")
            out.append(f"depth limit reached (depth {depth}): deeper pages were checked, "
                       "not crawled")
        held = self.counters.get("trap_held", 0)
        if held:
            kind = TRAP_KINDS.get(lim.get("trap_kind", ""), "")
            out.append(f"possible crawl trap under {lim.get('trap_under', '?')}"
                       f"{f' ({kind})' if kind else ''}: {held:,} url{'s' if held != 1 else ''} held back "
                       "(checked, not crawled)")
        over = self.counters.get("links_over_cap", 0)
        if over:
            pages = self.counters.get("links_over_cap_pages", 0)
            first, cap = lim.get("links_over_cap_page", "?"), int(lim.get("link_cap") or 0)
            if pages > 1:
                out.append(f"{over:,} links not followed on {pages:,} pages over the per-page cap of {cap:,} "
                           f"distinct targets (the first: {first}; the report lists each page)")
            else:
                out.append(f"{over:,} links not followed: page {first} had more than the per-page cap of "
                           f"{cap:,} distinct targets")
        unrendered = self.counters.get(f"error_{ErrorKind.NOT_RENDERED}", 0)
        if lim.get("render_unavailable"):
            out.append(f"pages needed a browser but no crawler could render them (none was started with "
                       f"LINKPATROL_RENDER_PAGES): {unrendered:,} read as they were sent, each a not-rendered warning")
        elif unrendered:
            out.append(f"{unrendered:,} page{'s' if unrendered != 1 else ''} could not be rendered (the time limit or "
                       "a crash): read as sent, each a not-rendered warning")
        return out

    @property
    def render_note(self) -> str:
        """How many pages were loaded in a headless browser, and why ("" for none)."""
        rendered = self.counters.get(f"checked_{CheckMethod.RENDER}", 0)
        why = [(self.counters.get(f"render_why_{r}", 0), text) for r, text in RENDER_REASONS.items()]
        why = [(n, text) for n, text in why if n]
        if not rendered and not why:
            return ""
        found = "; ".join(f"{n:,} for {text}" for n, text in why)
        return (f"{rendered:,} page{'s' if rendered != 1 else ''} rendered in a headless browser"
                f"{f' (found to need it: {found})' if found else ''}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "state": self.state,
            "origin": self.origin or None,
            "options": self.options.to_dict(),
            "pages_crawled": self.pages_crawled,
            "links_checked": self.links_checked,
            "dead": self.dead,
            "broken": self.dead,  # deprecated (one release): "dead", the name this count always meant
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "counters": dict(self.counters),
            "stop_reasons": self.stop_reasons,
        }

    @classmethod
    def from_record(cls, rec: Mapping[str, str]) -> Crawl:
        """Decode the crawl's Redis hash."""
        return cls(
            id=rec["id"],
            url=rec["url"],
            host=rec["host"],
            state=rec["state"],
            options=CrawlOptions.from_json(rec.get("options")),
            created_at=float(rec["created_at"]),
            started_at=_num(rec.get("started_at")),
            finished_at=_num(rec.get("finished_at")),
            counters={name: int(rec.get(name) or 0) for name in COUNTERS},
            limits={name: rec[name] for name in LIMIT_FIELDS if rec.get(name)},
            origin=rec.get("origin", ""),
        )


def _num(raw: str | None) -> float | None:
    return float(raw) if raw else None
