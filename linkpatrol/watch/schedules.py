"""Schedules: re-checks of a site every N minutes, hours or days, or on a cron expression.

A schedule is a hash (``Keys.schedule``) holding the site's url, the crawl options (validated by
``records.parse_options``, exactly as for ``POST /api/crawls``), its ``every`` (seconds) or ``cron``
(five fields, UTC) and its next due time, mirrored in one sorted set (``Keys.schedules_due``) that the
tick reads. Something must call ``Schedules.run_due()`` regularly: RQ's cron scheduler enqueues a tick
job for the RQ worker (``web.schedules``), so no scheduler of our own runs anywhere.

Exactly one crawl per due time, however many ticks run at once and whatever gets killed: a due
schedule is fired in one optimistic transaction (WATCH on its hash, then MULTI: the crawl record and
its start message through ``store.NewCrawl.write``, the next due time, the last crawl). Of two ticks
that read the same due time, the second one's EXEC fails and it then reads a due time in the future;
a tick killed before EXEC changed nothing and the next tick fires the schedule. The next due time is
the first slot after *now*, so a schedule that missed many slots (everything was down) runs once.
A finished crawl never becomes active again, so "the previous crawl is still running" needs no lock:
at worst a crawl that ended between the read and the EXEC is skipped once.

A cron expression is checked where it comes in (``parse_cron``, used by the API, the form and the
command line): one that never fires (``0 0 31 2 *``) is refused there. A stored one that cannot give a
next run anyway (written before that check, or by hand) never stops the tick: that schedule alone is
taken off the due list, with one log line and a ``last_result`` saying why, until its ``cron`` is changed.
"""

from __future__ import annotations

import builtins
import itertools
import json
import logging
import math
import os
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

from linkpatrol import durations
from linkpatrol.model.options import CrawlOptions, InvalidOption
from linkpatrol.model.records import CrawlState, Origin
from linkpatrol.reports.summary import iso
from linkpatrol.store.crawls import CrawlStore, NewCrawl

# Test-only: a file holding seconds to add to the clock (``now()``), so a test can move time forward
# in running workers without waiting. Unset everywhere but in tests.
CLOCK_FILE_ENV = "LINKPATROL_TEST_CLOCK_FILE"
SCHEDULE_FIELDS = ("every", "cron", "paused")  # what a schedule request holds besides url and crawl options
MAX_INTERVAL = 366 * 86400
CRON_GAPS_CHECKED = 8  # consecutive runs of a cron expression whose gaps must respect the minimum
DUE_BATCH = 100  # schedules fired per tick round; the tick loops until none is due
SKIPPED_RUNNING = "skipped: previous crawl still running"
SCHEDULE_ID = re.compile(r"[0-9a-f]{16}")
# Each schedule starts crawls on its own; creating them is rate limited like crawls, and these caps
# keep a client from piling up schedules that would then crawl without end.
MAX_PER_SITE, MAX_SCHEDULES = 20, 10_000
# croniter's R (a random value, drawn again each time a next run is computed): refused, runs must be stable
RANDOM_CRON_VALUE = re.compile(r"^r(\(|/|$)", re.IGNORECASE)

logger = logging.getLogger(__name__)


def is_schedule_id(value: str) -> bool:
    """Only a string shaped like a schedule id becomes part of a key (``x:secrets`` would name another)."""
    return SCHEDULE_ID.fullmatch(value) is not None


def now() -> float:
    """The schedules' clock: Unix time, plus the test offset when ``LINKPATROL_TEST_CLOCK_FILE`` names
    a file (read on every call, so a test moves the clock of processes already running)."""
    path = os.environ.get(CLOCK_FILE_ENV)
    if not path:
        return time.time()
    try:
        with open(path) as fh:
            return time.time() + float(fh.read().strip() or 0)
    except (OSError, ValueError):
        return time.time()


class ScheduleNotFound(LookupError):
    pass


class PreviousCrawlRunning(Exception):
    """"Run now" while the schedule's previous crawl is queued or running."""

    def __init__(self, crawl_id: str) -> None:
        super().__init__(f"the previous crawl {crawl_id} is still running")
        self.crawl_id = crawl_id


# -- when --------------------------------------------------------------------------------------------
def parse_every(value: Any, min_interval: float) -> int:
    """``"30m"``, ``"6h"``, ``"1d"``, ``"2w"``, ``"1h 30m"`` (or ``"90s"``) -> seconds
    (``durations.parse``, a unit required). Raises InvalidOption("every")."""
    try:
        return durations.parse(value, minimum=math.ceil(min_interval), maximum=MAX_INTERVAL, units="smhdw",
                               unit_required=True)
    except durations.BadDuration as exc:
        shortest = " (the server's shortest interval, LINKPATROL_MIN_SCHEDULE_INTERVAL)" \
            if exc.message.startswith("must be at least") else ""
        raise InvalidOption("every", exc.message + shortest) from None


def parse_cron(value: Any, min_interval: float, at: float | None = None) -> str:
    """A five-field cron expression in UTC (``"0 3 * * 1"``). Raises InvalidOption("cron") when it is
    not one, when it never fires (``0 0 31 2 *``), or when two of its next runs are closer than the
    shortest interval. The one check every caller (API, PATCH, form, command line) goes through."""
    if not isinstance(value, str) or len(value) > 200:
        raise InvalidOption("cron", 'must be a cron expression of five fields: "0 3 * * 1"')
    from croniter import croniter  # at first use: its import runs ``file`` on the interpreter (every command)

    expr = " ".join(value.split())
    if len(expr.split(" ")) != 5 or not croniter.is_valid(expr):
        raise InvalidOption("cron", f'{expr[:60]!r} is not a cron expression of five fields (minute hour '
                                    'day-of-month month day-of-week), such as "0 3 * * 1"')
    if any(RANDOM_CRON_VALUE.match(part) for part in expr.replace(" ", ",").split(",")):
        raise InvalidOption("cron", "random values (R) are not supported: name the minute and hour")
    runs = cron_runs(expr, now() if at is None else at, CRON_GAPS_CHECKED)
    gaps = [b - a for a, b in itertools.pairwise(runs)]
    if gaps and min(gaps) < min_interval:
        raise InvalidOption("cron", f"runs {durations.describe(min(gaps))} apart; the shortest interval is "
                                    f"{durations.describe(min_interval)} (LINKPATROL_MIN_SCHEDULE_INTERVAL)")
    return expr


def cron_runs(expr: str, after: float, count: int) -> list[float]:
    """The next ``count`` runs of ``expr`` after ``after``. Raises InvalidOption("cron") when croniter
    cannot compute them: the expression never fires (no date matches its fields within croniter's
    50 years) or is no cron expression at all (a stored one that skipped ``parse_cron``)."""
    from croniter import CroniterBadDateError, croniter  # at first use, as in parse_cron

    try:
        it = croniter(expr, datetime.fromtimestamp(after, UTC))
        return [float(it.get_next(float)) for _ in range(count)]
    except CroniterBadDateError:
        raise InvalidOption("cron", f"{expr[:60]!r} never fires: no date matches its day of month, month and day "
                                    "of week (such as the 31st of February)") from None
    except (ValueError, TypeError, OverflowError) as exc:  # croniter's other errors are ValueErrors and TypeErrors
        raise InvalidOption("cron", f"{expr[:60]!r} cannot be used: {str(exc)[:200]}") from None


def next_slot(every: int | None, cron: str | None, anchor: float, after: float) -> float:
    """The first run strictly after ``after``: for ``every``, on the grid anchor + k * every (so runs
    keep their time of day); for ``cron``, its next firing (InvalidOption("cron") if it has none)."""
    if cron:
        return cron_runs(cron, after, 1)[0]
    assert every
    if after < anchor:
        return anchor + every
    return anchor + every * (math.floor((after - anchor) / every) + 1)


# -- the schedule --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Schedule:
    id: str
    url: str
    options: CrawlOptions  # no secrets (``Keys.schedule_secrets``)
    every: int | None
    cron: str | None
    paused: bool
    created_at: float
    anchor: float  # the origin of an interval's grid: the creation, or the last change of ``every``
    next_run: float | None  # None while paused
    last_run: float | None
    last_crawl: str | None
    last_result: str  # "started crawl <id>", "skipped: previous crawl still running"
    runs: int
    skipped: int

    @classmethod
    def from_record(cls, rec: Mapping[str, str]) -> Schedule:
        return cls(
            id=rec["id"], url=rec["url"], options=CrawlOptions.from_json(rec.get("options")),
            every=int(rec["every"]) if rec.get("every") else None, cron=rec.get("cron") or None,
            paused=rec.get("paused") == "1", created_at=float(rec["created_at"]),
            anchor=float(rec.get("anchor") or rec["created_at"]),
            next_run=_num(rec.get("next_run")), last_run=_num(rec.get("last_run")),
            last_crawl=rec.get("last_crawl") or None, last_result=rec.get("last_result", ""),
            runs=int(rec.get("runs") or 0), skipped=int(rec.get("skipped") or 0),
        )

    @property
    def when(self) -> str:
        """How a person reads it: "every 6h", "cron 0 3 * * 1 (UTC)"."""
        return f"every {durations.describe(self.every, most=4)}" if self.every else f"cron {self.cron} (UTC)"

    def to_dict(self) -> dict[str, Any]:
        """The shape the API and the command line show (header names, never values)."""
        return {
            "id": self.id, "url": self.url, "every": durations.describe(self.every, most=4) if self.every else None,
            "cron": self.cron, "paused": self.paused, "created_at": _iso(self.created_at),
            "next_run": _iso(self.next_run), "last_run": _iso(self.last_run), "last_crawl": self.last_crawl,
            "last_result": self.last_result or None, "runs": self.runs, "skipped": self.skipped,
            "options": self.options.to_dict(),
        }


@dataclass(frozen=True)
class ScheduleRequest:
    """A validated request for a new schedule."""

    url: str
    options: CrawlOptions  # with header values
    every: int | None
    cron: str | None
    paused: bool = False


def parse_when(data: Mapping[str, Any], min_interval: float) -> tuple[int | None, str | None]:
    """``every`` or ``cron`` (exactly one) from a request. Raises InvalidOption."""
    every, cron = data.get("every"), data.get("cron")
    if every in (None, "") and cron in (None, ""):
        raise InvalidOption("every", 'say when: "every": "6h" or "cron": "0 3 * * 1"')
    if every not in (None, "") and cron not in (None, ""):
        raise InvalidOption("cron", 'give "every" or "cron", not both')
    if every not in (None, ""):
        return parse_every(every, min_interval), None
    return None, parse_cron(cron, min_interval)


@dataclass(frozen=True)
class Fired:
    """What firing a schedule did: ``started`` (``crawl_id``), ``skipped`` (previous crawl running), or
    ``nothing`` (not due, paused, gone: another tick was first)."""

    outcome: str
    crawl_id: str | None = None


class Schedules:
    """Create, read, change and fire schedules; ``run_due`` is the tick."""

    def __init__(self, store: CrawlStore, min_interval: float = 300.0) -> None:
        self.store = store
        self.r: Any = store.r
        self.keys = store.keys
        self.min_interval = min_interval

    # -- records ---------------------------------------------------------------------------------------
    def create(self, req: ScheduleRequest, at: float | None = None) -> Schedule:
        """A new schedule; its first run is the first slot after now (``every``: one interval from now;
        "run now" starts one at once). Raises InvalidOption("url") over the caps."""
        if self.r.scard(self.keys.site_schedules(req.url)) >= MAX_PER_SITE:
            raise InvalidOption("url", f"this site has {MAX_PER_SITE} schedules already: delete one first")
        if self.count() >= MAX_SCHEDULES:
            raise InvalidOption("url", f"this server has {MAX_SCHEDULES:,} schedules already: delete some first")
        t = now() if at is None else at
        sid = secrets.token_hex(8)
        nxt = next_slot(req.every, req.cron, t, t)
        rec = {
            "id": sid, "url": req.url, "options": req.options.to_json(), "every": str(req.every or ""),
            "cron": req.cron or "", "paused": "1" if req.paused else "", "created_at": repr(t),
            "next_run": "" if req.paused else repr(nxt), "runs": "0", "skipped": "0",
        }
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(self.keys.schedule(sid), mapping=rec)
        hidden = {"headers": json.dumps(req.options.headers) if req.options.headers else "",
                  "webhook_secret": req.options.webhook_secret}
        if any(hidden.values()):
            pipe.hset(self.keys.schedule_secrets(sid), mapping=hidden)
        pipe.zadd(self.keys.schedules, {sid: t})
        pipe.sadd(self.keys.site_schedules(req.url), sid)
        if not req.paused:
            pipe.zadd(self.keys.schedules_due, {sid: nxt})
        pipe.execute()
        return Schedule.from_record(rec)

    def get(self, schedule_id: str) -> Schedule | None:
        if not is_schedule_id(schedule_id):
            return None
        rec = self.r.hgetall(self.keys.schedule(schedule_id))
        return Schedule.from_record(rec) if rec else None

    def require(self, schedule_id: str) -> Schedule:
        schedule = self.get(schedule_id)
        if schedule is None:
            raise ScheduleNotFound(schedule_id)
        return schedule

    def count(self) -> int:
        return int(self.r.zcard(self.keys.schedules))

    def list(self, offset: int = 0, limit: int = 50) -> builtins.list[Schedule]:
        """Newest first."""
        return self._records(self.r.zrevrange(self.keys.schedules, offset, offset + limit - 1))

    def for_site(self, url: str) -> builtins.list[Schedule]:
        """The schedules of one site, oldest first."""
        found = self._records(sorted(self.r.smembers(self.keys.site_schedules(url))))
        return sorted(found, key=lambda s: s.created_at)

    def next_runs(self, urls: builtins.list[str]) -> dict[str, float]:
        """Site url -> its soonest next run (sites with no running schedule are left out): two round trips."""
        pipe = self.r.pipeline(transaction=False)
        for url in urls:
            pipe.smembers(self.keys.site_schedules(url))
        members = pipe.execute()
        pipe = self.r.pipeline(transaction=False)
        pairs = [(url, sid) for url, ids in zip(urls, members, strict=True) for sid in ids]
        for _, sid in pairs:
            pipe.zscore(self.keys.schedules_due, sid)
        out: dict[str, float] = {}
        for (url, _), due in zip(pairs, pipe.execute(), strict=True):
            if due is not None:
                out[url] = min(out.get(url, due), due)
        return out

    def _records(self, ids: builtins.list[str]) -> builtins.list[Schedule]:
        pipe = self.r.pipeline(transaction=False)
        for sid in ids:
            pipe.hgetall(self.keys.schedule(sid))
        return [Schedule.from_record(rec) for rec in pipe.execute() if rec]

    def set_paused(self, schedule_id: str, paused: bool, at: float | None = None) -> Schedule:
        """Pause (no run until resumed) or resume (the next run is the first slot after now). Resuming a
        schedule whose stored cron never fires raises InvalidOption("cron")."""
        t = now() if at is None else at
        if not is_schedule_id(schedule_id):
            raise ScheduleNotFound(schedule_id)
        key = self.keys.schedule(schedule_id)

        def update(pipe: Any) -> None:
            rec = pipe.hgetall(key)
            if not rec:
                raise ScheduleNotFound(schedule_id)
            s = Schedule.from_record(rec)
            pipe.multi()
            if paused:
                pipe.hset(key, mapping={"paused": "1", "next_run": ""})
                pipe.zrem(self.keys.schedules_due, schedule_id)
            elif s.paused:
                nxt = next_slot(s.every, s.cron, s.anchor, t)
                pipe.hset(key, mapping={"paused": "", "next_run": repr(nxt)})
                pipe.zadd(self.keys.schedules_due, {schedule_id: nxt})

        self.r.transaction(update, key)
        return self.require(schedule_id)

    def set_when(self, schedule_id: str, every: int | None, cron: str | None, at: float | None = None) -> Schedule:
        """A new interval or cron expression (validated by the caller: ``parse_when``); the grid of an
        interval restarts now."""
        t = now() if at is None else at
        if not is_schedule_id(schedule_id):
            raise ScheduleNotFound(schedule_id)
        key = self.keys.schedule(schedule_id)

        def update(pipe: Any) -> None:
            rec = pipe.hgetall(key)
            if not rec:
                raise ScheduleNotFound(schedule_id)
            paused = rec.get("paused") == "1"
            nxt = next_slot(every, cron, t, t)
            pipe.multi()
            # ``anchor`` is the origin of an interval's grid: a new interval counts from now.
            pipe.hset(key, mapping={"every": str(every or ""), "cron": cron or "", "anchor": repr(t),
                                    "next_run": "" if paused else repr(nxt)})
            if not paused:
                pipe.zadd(self.keys.schedules_due, {schedule_id: nxt})

        self.r.transaction(update, key)
        return self.require(schedule_id)

    def delete(self, schedule_id: str) -> bool:
        """Remove the schedule; the crawls it started stay."""
        if not is_schedule_id(schedule_id):
            return False
        url = self.r.hget(self.keys.schedule(schedule_id), "url")
        if url is None:
            return False
        pipe = self.r.pipeline(transaction=True)
        pipe.unlink(self.keys.schedule(schedule_id), self.keys.schedule_secrets(schedule_id))
        pipe.zrem(self.keys.schedules, schedule_id)
        pipe.zrem(self.keys.schedules_due, schedule_id)
        pipe.srem(self.keys.site_schedules(url), schedule_id)
        pipe.execute()
        return True

    # -- firing ----------------------------------------------------------------------------------------
    def run_due(self, at: float | None = None) -> builtins.list[Fired]:
        """The tick: fire every schedule whose due time has come. Safe to run anywhere, any number of
        times at once (see the module's docstring)."""
        t = now() if at is None else at
        fired: builtins.list[Fired] = []
        while True:
            due = self.r.zrangebyscore(self.keys.schedules_due, "-inf", t, start=0, num=DUE_BATCH)
            results = [self.fire(sid, t) for sid in due]
            fired += [f for f in results if f.outcome != "nothing"]
            # A schedule fired here moved into the future; one another tick holds is left to it.
            if len(due) < DUE_BATCH or not any(f.outcome != "nothing" for f in results):
                return fired

    def run_now(self, schedule_id: str, at: float | None = None) -> str:
        """Start a crawl of the schedule now (its next due time stays). Returns the crawl id; raises
        ScheduleNotFound or PreviousCrawlRunning."""
        fired = self.fire(schedule_id, now() if at is None else at, forced=True)
        if fired.outcome == "nothing":
            raise ScheduleNotFound(schedule_id)
        if fired.outcome == "skipped":
            last = self.require(schedule_id).last_crawl
            raise PreviousCrawlRunning(last or "")
        assert fired.crawl_id
        return fired.crawl_id

    def fire(self, schedule_id: str, t: float, *, forced: bool = False) -> Fired:
        """Start the schedule's crawl if it is due at ``t`` (``forced``: in any case), or record that
        its previous crawl still runs; in the same transaction, move its due time past ``t``."""
        if not is_schedule_id(schedule_id):
            return Fired("nothing")
        key = self.keys.schedule(schedule_id)
        with self.r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    rec = pipe.hgetall(key)
                    if not rec:
                        pipe.unwatch()
                        self.r.zrem(self.keys.schedules_due, schedule_id)  # a stale index entry
                        return Fired("nothing")
                    s = Schedule.from_record(rec)
                    if not forced and (s.paused or s.next_run is None or s.next_run > t):
                        pipe.unwatch()
                        return Fired("nothing")
                    running = self._still_running(s.last_crawl)
                    options = self._with_secrets(s.options, schedule_id) if not running else s.options
                    try:
                        nxt = None if forced else next_slot(s.every, s.cron, s.anchor, t)
                        # Validated now, before anything is written: a schedule stored before a rule
                        # got stricter (a cron that never fires, an exclude pattern RE2 refuses)
                        # stops alone, never the tick that fires the others.
                        new = None if running else NewCrawl.of(s.url, options, Origin.SCHEDULE, schedule=schedule_id)
                    except InvalidOption as exc:
                        pipe.multi()
                        pipe.zrem(self.keys.schedules_due, schedule_id)
                        pipe.hset(key, mapping={"next_run": "",
                                                "last_result": f"not run: {exc.field} {exc.message}"})
                        pipe.execute()
                        logger.warning("schedule %s taken off the due list until its %s is changed: %s",
                                       schedule_id, exc.field, exc.message)
                        return Fired("nothing")
                    pipe.multi()
                    fields: dict[str, str] = {"last_run": repr(t)}
                    if nxt is not None:
                        fields["next_run"] = repr(nxt)
                        pipe.zadd(self.keys.schedules_due, {schedule_id: nxt})
                    if new is None:
                        fields["last_result"] = SKIPPED_RUNNING
                        pipe.hincrby(key, "skipped", 1)
                    else:
                        new.write(pipe, self.keys)
                        fields["last_crawl"] = new.id
                        fields["last_result"] = f"started crawl {new.id}"
                        pipe.hincrby(key, "runs", 1)
                    pipe.hset(key, mapping=fields)
                    pipe.execute()
                    break
                except redis.WatchError:
                    continue  # changed under us (another tick, a pause): read it again
        if new is None:
            return Fired("skipped")
        self.store.retain(new)
        return Fired("started", new.id)

    def _with_secrets(self, options: CrawlOptions, schedule_id: str) -> CrawlOptions:
        """The schedule's options with their secrets, for a crawl it starts (never stored with them)."""
        kept = self.r.hgetall(self.keys.schedule_secrets(schedule_id))
        headers = json.loads(kept["headers"]) if kept.get("headers") else {}
        return options.with_headers(headers).with_webhook_secret(kept.get("webhook_secret", ""))

    def _still_running(self, crawl_id: str | None) -> bool:
        if not crawl_id:
            return False
        state = self.r.hget(self.keys.crawl(crawl_id), "state")
        return bool(state) and CrawlState(state).is_active


def _num(raw: str | None) -> float | None:
    return float(raw) if raw else None


def _iso(t: float | None) -> str | None:
    return iso(t) if t else None

