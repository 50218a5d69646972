"""The crawl record and its options, with the validation every way of starting a crawl shares
(the form, the JSON API, the command line and a JSON start message in Redis)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from linkpatrol.verdicts import STATUS_CLASSES, Outcome

MAX_NOTIFY = 10
MAX_LIMIT = 1_000_000
MAX_SITE_CONCURRENCY = 1000
MAX_SITE_RATE = 10_000
# The option names of the API, the form and a JSON start message.
OPTION_FIELDS = ("max_pages", "max_depth", "respect_robots", "check_external", "notify", "site_concurrency",
                 "site_rate")
EMAIL = re.compile(r"^[^@\s,;<>\"']{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")

COUNTERS = (
    "pages_crawled",
    "links_checked",
    "broken",
    "redirected",
    *(f"outcome_{o}" for o in Outcome),
    *(f"status_{c}" for c in STATUS_CLASSES),
)


class CrawlState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    CANCELLED = "cancelled"

    @property
    def is_active(self) -> bool:
        return self in (CrawlState.QUEUED, CrawlState.RUNNING)


class InvalidOption(ValueError):
    """A crawl option (or the url) a person gave that cannot be used; ``field`` names it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass
class CrawlOptions:
    max_pages: int | None = None
    max_depth: int | None = None
    respect_robots: bool = True
    check_external: bool = True
    notify: list[str] = field(default_factory=list)
    # Politeness towards the crawled site, shared by every crawler; None: the crawler's default.
    site_concurrency: int | None = None
    site_rate: float | None = None  # requests per second

    def validate(self) -> CrawlOptions:
        if self.site_concurrency is not None and (
            not isinstance(self.site_concurrency, int) or isinstance(self.site_concurrency, bool)
            or not 1 <= self.site_concurrency <= MAX_SITE_CONCURRENCY
        ):
            raise InvalidOption("site_concurrency", f"must be a whole number from 1 to {MAX_SITE_CONCURRENCY}")
        if self.site_rate is not None and (
            not isinstance(self.site_rate, int | float) or isinstance(self.site_rate, bool)
            or not 0 < self.site_rate <= MAX_SITE_RATE
        ):
            raise InvalidOption("site_rate", f"must be requests per second, above 0 and at most {MAX_SITE_RATE}")
        for name in ("max_pages", "max_depth"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise InvalidOption(name, "must be a whole number, 0 or more")
        if self.max_pages == 0:
            raise InvalidOption("max_pages", "must be at least 1")
        if len(self.notify) > MAX_NOTIFY:
            raise InvalidOption("notify", f"at most {MAX_NOTIFY} addresses")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str | None) -> CrawlOptions:
        data = json.loads(raw) if raw else {}
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


# -- parsing what a person or a client sent -----------------------------------------------------------
def _whole(name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidOption(name, "must be a whole number")
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit():
            raise InvalidOption(name, "must be a whole number, 0 or more")
        value = int(value)
    if not isinstance(value, int) or value < 0:
        raise InvalidOption(name, "must be a whole number, 0 or more")
    if value > MAX_LIMIT:
        raise InvalidOption(name, f"must be at most {MAX_LIMIT:,}")
    return value


def _rate(name: str, value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise InvalidOption(name, "must be a number of requests per second") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidOption(name, "must be a number of requests per second")
    return float(value)


def _flag(name: str, value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"1", "true", "on", "yes"}:
        return True
    if isinstance(value, str) and value.lower() in {"0", "false", "off", "no", ""}:
        return False
    raise InvalidOption(name, "must be true or false")


def _emails(value: Any, form: bool) -> list[str]:
    if value is None or (form and value == ""):
        return []
    items = re.split(r"[\s,;]+", value) if form and isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise InvalidOption("notify", "must be a list of email addresses")
    out = [v.strip() for v in items if v.strip()]
    if len(out) > MAX_NOTIFY:
        raise InvalidOption("notify", f"at most {MAX_NOTIFY} addresses")
    for addr in out:
        if len(addr) > 254 or not EMAIL.match(addr):
            raise InvalidOption("notify", f"{addr[:80]!r} is not an email address")
    return list(dict.fromkeys(out))


def parse_options(data: Mapping[str, Any], *, form: bool = False) -> CrawlOptions:
    """Crawl options from a JSON object or a form. Raises InvalidOption naming the field, also for
    an unknown one. A form sends unchecked checkboxes as absent: absent means false there."""
    if not form:
        unknown = sorted(set(data) - set(OPTION_FIELDS))
        if unknown:
            raise InvalidOption(unknown[0], "is not a crawl option")
    return CrawlOptions(
        max_pages=_whole("max_pages", data.get("max_pages")),
        max_depth=_whole("max_depth", data.get("max_depth")),
        respect_robots=_flag("respect_robots", data.get("respect_robots", "" if form else None), True),
        check_external=_flag("check_external", data.get("check_external", "" if form else None), True),
        notify=_emails(data.get("notify"), form),
        site_concurrency=_whole("site_concurrency", data.get("site_concurrency")),
        site_rate=_rate("site_rate", data.get("site_rate")),
    ).validate()


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

    @property
    def pages_crawled(self) -> int:
        return self.counters.get("pages_crawled", 0)

    @property
    def links_checked(self) -> int:
        return self.counters.get("links_checked", 0)

    @property
    def broken(self) -> int:
        return self.counters.get("broken", 0)

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
    def redirected(self) -> int:
        return self.counters.get("redirected", 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "state": self.state,
            "options": asdict(self.options),
            "pages_crawled": self.pages_crawled,
            "links_checked": self.links_checked,
            "broken": self.broken,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "counters": dict(self.counters),
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
        )


def _num(raw: str | None) -> float | None:
    return float(raw) if raw else None
