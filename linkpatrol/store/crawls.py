"""Crawl records and results in Redis: the API the web app, the mail jobs, the command line and the
crawlers share. Nothing outside ``linkpatrol`` touches a key or a raw client of the store.

Key names come from ``linkpatrol.store.keys``; what is stored is encoded and decoded by ``linkpatrol.model.wire``;
the frontier's atomic scripts live in ``linkpatrol.frontier``; the report index in
``linkpatrol.store.report_index``.
"""

from __future__ import annotations

import builtins
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import redis

from linkpatrol.config import Config
from linkpatrol.frontier import Scripts
from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.records import Crawl, CrawlState, Origin
from linkpatrol.model.start_messages import StartMessage
from linkpatrol.model.urls import host_of, normalize_url
from linkpatrol.model.verdicts import Outcome
from linkpatrol.model.wire import LinkResult, Referrer, ReportRecord
from linkpatrol.store.keys import Keys, site_id
from linkpatrol.store.registry import list_crawlers
from linkpatrol.store.report_index import load_records


class CrawlNotFound(LookupError):
    pass


BATCH = 50  # crawl records read per round trip when walking a site's history
# The crawl lists by what made them (``CrawlStore.list``'s ``checks``), as the API's and the command
# line's ``origin`` filter names them: only those of ``linkpatrol check``, or every other one.
ORIGIN_FILTERS: dict[str, bool] = {"check": True, "other": False}


@dataclass(frozen=True)
class SiteSummary:
    """One site (a normalised seed url) as the home page lists it: how many crawls it has and its newest."""

    url: str
    crawls: int
    last: Crawl | None

    @property
    def id(self) -> str:
        return site_id(self.url)

    @property
    def state(self) -> str:
        return self.last.state if self.last else ""

    @property
    def dead(self) -> int:
        return self.last.dead if self.last else 0


CRAWL_ID = re.compile(r"[0-9a-f]{16}")  # what NewCrawl.of makes: secrets.token_hex(8)


def is_crawl_id(value: str) -> bool:
    """True for a string shaped like a crawl id. Anything else (``<id>:urls``, a very long string) is
    never used as a key suffix: it would name another key of the crawl, or no crawl at all."""
    return CRAWL_ID.fullmatch(value) is not None


@dataclass(frozen=True)
class NewCrawl:
    """A crawl about to be created, validated (``of``), and the one way to write it (``write``): the API
    and the form (``CrawlStore.create``), the start queue and schedules all create crawls through it."""

    record: dict[str, str]  # the Redis hash of the queued crawl
    headers: Mapping[str, str]  # request headers of its options: secrets, kept out of the record
    webhook_secret: str  # likewise

    @classmethod
    def of(cls, url: str, options: CrawlOptions, origin: Origin | None = None, **extra: str) -> NewCrawl:
        """Validate ``url`` and ``options`` (raises InvalidURL or InvalidOption) and build the record;
        ``origin`` says what made the crawl, ``extra`` adds fields (a schedule's id)."""
        options = options.validate()
        seed, _ = normalize_url(url)
        now = time.time()
        record = {
            "id": secrets.token_hex(8),
            "url": seed,
            "host": host_of(seed),
            "state": CrawlState.QUEUED,
            "options": options.to_json(),
            "created_at": repr(now),
            # Whether the ended-crawl event is pushed (mail and webhooks, ``linkpatrol.store.events``).
            "notify": "1" if options.notify or options.webhooks else "",
            # Read by the COMPLETE script: the page budget never travels with each result.
            "max_pages": str(options.max_pages or 0),
            **({"origin": str(origin)} if origin else {}),
            **extra,
        }
        return cls(record, dict(options.headers or {}), options.webhook_secret)

    @property
    def id(self) -> str:
        return self.record["id"]

    @property
    def url(self) -> str:
        return self.record["url"]

    @property
    def by_check(self) -> bool:
        return self.record.get("origin") == Origin.CHECK

    @property
    def start_message(self) -> str:
        """The message that has a crawler start it (``StartMessage`` naming the crawl)."""
        return StartMessage(crawl_id=self.id).encode()

    def write(self, pipe: Any, keys: Keys, start: str | None = None) -> None:
        """Queue the writes of the crawl on ``pipe`` (a sync or asyncio pipeline; a transaction, so
        the record never exists without its secrets): the record, its place in the history (crawls of
        ``linkpatrol check`` apart, in no site's), its headers and webhook secret (out of the record),
        and its start message pushed onto the list ``start`` (``Keys.start`` when None)."""
        pipe.hset(keys.crawl(self.id), mapping=self.record)
        if self.headers:
            pipe.hset(keys.crawl_headers(self.id), mapping=dict(self.headers))
        if self.webhook_secret:
            pipe.hset(keys.crawl_secrets(self.id), "webhook_secret", self.webhook_secret)
        created = float(self.record["created_at"])
        if self.by_check:  # a CI run (a folder on a temporary server...): no site
            pipe.zadd(keys.check_crawls, {self.id: created})
        else:
            pipe.zadd(keys.crawls, {self.id: created})
            pipe.zadd(keys.site_crawls(self.url), {self.id: created})
            pipe.zadd(keys.sites, {self.url: created}, gt=True)
        pipe.rpush(keys.start if start is None else start, self.start_message)

    def to_crawl(self) -> Crawl:
        return Crawl.from_record(self.record)


def forget_crawl(pipe: Any, keys: Keys, crawl_id: str, url: str) -> None:
    """Queue on ``pipe`` (sync or asyncio) the removal of a crawl from the history, the active set and
    its site's history (its own keys go by ``Keys.crawl_pattern``)."""
    pipe.zrem(keys.crawls, crawl_id)
    pipe.zrem(keys.check_crawls, crawl_id)
    pipe.srem(keys.active, crawl_id)
    pipe.zrem(keys.site_crawls(url), crawl_id)


def expired_crawls(older: list[tuple[str, str | None]]) -> list[str]:
    """Of a site's crawls beyond the ones kept (id, state), the ones retention deletes: every ended
    one; a queued or running crawl never."""
    return [crawl_id for crawl_id, state in older if not (state and CrawlState(state).is_active)]


class CrawlStore:
    """Create, read, cancel and delete crawls, read their results, and keep the small ledgers the web
    app and the mail jobs need (rate-limit counters, the web secret, mails sent)."""

    def __init__(self, client: redis.Redis, keys: Keys | str = "lp", keep_crawls: int = Config.keep_crawls) -> None:
        # The client must decode responses (linkpatrol.store.connection.client): every reply is a str.
        self.r: Any = client
        self.keys = keys if isinstance(keys, Keys) else Keys(keys)
        self.scripts = Scripts(client, self.keys)
        self.keep_crawls = keep_crawls  # per site; 0 keeps every crawl (Config.keep_crawls)

    @classmethod
    def from_config(cls, client: redis.Redis, config: Config) -> CrawlStore:
        return cls(client, Keys.from_config(config), config.keep_crawls)

    def ping(self) -> bool:
        return bool(self.r.ping())

    def close(self) -> None:
        self.r.close()

    # -- records -----------------------------------------------------------------------------------
    def create(self, url: str, options: CrawlOptions | None = None, origin: Origin | None = None) -> Crawl:
        """A new queued crawl, and its start message for the crawlers; ``origin`` says what made it."""
        new = NewCrawl.of(url, options or CrawlOptions(), origin)
        pipe = self.r.pipeline(transaction=True)
        new.write(pipe, self.keys)
        pipe.execute()
        self.retain(new)
        return new.to_crawl()

    def retain(self, new: NewCrawl) -> builtins.list[str]:
        """Retention after ``new`` was written: its site's crawls beyond ``keep_crawls`` (or those of
        ``linkpatrol check``) are deleted. Returns the ids deleted."""
        return self.prune_checks() if new.by_check else self.prune(new.url)

    def get(self, crawl_id: str) -> Crawl | None:
        if not is_crawl_id(crawl_id):
            return None
        record = self.r.hgetall(self.keys.crawl(crawl_id))
        return Crawl.from_record(record) if record else None

    def require(self, crawl_id: str) -> Crawl:
        crawl = self.get(crawl_id)
        if crawl is None:
            raise CrawlNotFound(crawl_id)
        return crawl

    def crawl_headers(self, crawl_id: str) -> dict[str, str]:
        """The request headers the crawl sends to its site (secrets: for a re-run, never for display)."""
        return dict(self.r.hgetall(self.keys.crawl_headers(crawl_id)))

    def webhook_secret(self, crawl_id: str) -> str:
        """The secret that signs the crawl's webhooks ("" when none): for the webhook job and a re-run."""
        return str(self.r.hget(self.keys.crawl_secrets(crawl_id), "webhook_secret") or "")

    def count(self, checks: bool | None = None) -> int:
        """How many crawls ``list`` has (``checks``: as there)."""
        pipe = self.r.pipeline(transaction=False)
        for key in self._histories(checks):
            pipe.zcard(key)
        return sum(int(n) for n in pipe.execute())

    def list(self, offset: int = 0, limit: int = 50, checks: bool | None = None) -> builtins.list[Crawl]:
        """Newest first: every crawl, or (``checks``) only those of ``linkpatrol check``, or (False)
        every other one, the sites' crawls."""
        if checks is not None:
            [key] = self._histories(checks)
            return self._records(self.r.zrevrange(key, offset, offset + limit - 1))
        pipe = self.r.pipeline(transaction=False)
        for key in self._histories(None):
            pipe.zrevrange(key, 0, offset + limit - 1, withscores=True)
        newest = sorted((pair for reply in pipe.execute() for pair in reply), key=lambda pair: -pair[1])
        return self._records([crawl_id for crawl_id, _ in newest[offset:offset + limit]])

    def _histories(self, checks: bool | None) -> tuple[str, ...]:
        if checks is None:
            return self.keys.crawls, self.keys.check_crawls
        return (self.keys.check_crawls,) if checks else (self.keys.crawls,)

    def cancel(self, crawl_id: str) -> bool:
        """Stop a queued or running crawl. Returns False when it had already ended."""
        return bool(self.scripts.cancel(crawl_id, time.time()))

    def delete(self, crawl_id: str) -> bool:
        """Cancel the crawl if needed and remove every key it created, and the crawl from its site's
        history (the site goes with its last crawl)."""
        url = self.r.hget(self.keys.crawl(crawl_id), "url")
        if url is None:
            return False
        self.cancel(crawl_id)
        pipe = self.r.pipeline(transaction=False)
        for key in self.r.scan_iter(match=self.keys.crawl_pattern(crawl_id), count=1000):
            pipe.unlink(key)
        pipe.unlink(self.keys.crawl(crawl_id))
        forget_crawl(pipe, self.keys, crawl_id, url)
        pipe.execute()
        self._refresh_site(url)
        return True

    def _refresh_site(self, url: str) -> None:
        """The site's "last crawl" time from what is left of its history (gone with its last crawl)."""
        history = self.keys.site_crawls(url)

        def update(pipe: Any) -> None:
            newest = pipe.zrevrange(history, 0, 0, withscores=True)
            pipe.multi()
            if newest:
                pipe.zadd(self.keys.sites, {url: newest[0][1]})
            else:
                pipe.zrem(self.keys.sites, url)
                pipe.unlink(self.keys.site_pages(url), self.keys.site_pages_order(url))

        self.r.transaction(update, history)

    def prune(self, url: str) -> builtins.list[str]:
        """Retention: delete the site's ended crawls beyond the newest ``keep_crawls`` (never a queued
        or running one). Returns the ids deleted."""
        return self._prune(self.keys.site_crawls(url))

    def prune_checks(self) -> builtins.list[str]:
        """Retention of the crawls of ``linkpatrol check`` (no site's: a folder's seed changes with its
        temporary port): the newest ``keep_crawls`` of them all are kept."""
        return self._prune(self.keys.check_crawls)

    def _prune(self, history: str) -> builtins.list[str]:
        if not self.keep_crawls:
            return []
        older = self.r.zrevrange(history, self.keep_crawls, -1)
        if not older:
            return []
        pipe = self.r.pipeline(transaction=False)
        for crawl_id in older:
            pipe.hget(self.keys.crawl(crawl_id), "state")
        expired = expired_crawls(list(zip(older, pipe.execute(), strict=True)))
        for crawl_id in expired:
            if not self.delete(crawl_id):  # its record was gone already: drop the stale entry
                self.r.zrem(history, crawl_id)
        return expired

    # -- sites -------------------------------------------------------------------------------------
    def site_count(self) -> int:
        return int(self.r.zcard(self.keys.sites))

    def sites(self, offset: int = 0, limit: int = 50) -> builtins.list[SiteSummary]:
        """Sites by their newest crawl, most recent first, each with its number of crawls."""
        urls = self.r.zrevrange(self.keys.sites, offset, offset + limit - 1)
        if not urls:
            return []
        pipe = self.r.pipeline(transaction=False)
        for url in urls:
            pipe.zcard(self.keys.site_crawls(url))
            pipe.zrevrange(self.keys.site_crawls(url), 0, 0)
        replies = pipe.execute()
        counts, newest = replies[0::2], [ids[0] if ids else None for ids in replies[1::2]]
        pipe = self.r.pipeline(transaction=False)
        for crawl_id in newest:
            pipe.hgetall(self.keys.crawl(crawl_id or "-"))
        records = pipe.execute()
        return [SiteSummary(url, int(n), Crawl.from_record(rec) if rec else None)
                for url, n, rec in zip(urls, counts, records, strict=True)]

    def site_crawl_count(self, url: str) -> int:
        return int(self.r.zcard(self.keys.site_crawls(url)))

    def site_crawls(self, url: str, offset: int = 0, limit: int = 50) -> builtins.list[Crawl]:
        """The crawls of one site (``Crawl.url``), newest first."""
        ids = self.r.zrevrange(self.keys.site_crawls(url), offset, offset + limit - 1)
        return self._records(ids)

    def previous_ended(self, crawl: Crawl) -> Crawl | None:
        """The newest finished crawl of the same site created before ``crawl`` (cancelled and active
        crawls are skipped: they saw only part of the site)."""
        history = self.keys.site_crawls(crawl.url)
        start = 0
        while ids := self.r.zrevrangebyscore(history, f"({crawl.created_at!r}", "-inf", start=start, num=BATCH):
            pipe = self.r.pipeline(transaction=False)
            for crawl_id in ids:
                pipe.hget(self.keys.crawl(crawl_id), "state")
            for crawl_id, state in zip(ids, pipe.execute(), strict=True):
                if state == CrawlState.FINISHED:
                    return self.get(crawl_id)
            start += BATCH
        return None

    def _records(self, ids: builtins.list[str]) -> builtins.list[Crawl]:
        pipe = self.r.pipeline(transaction=False)
        for crawl_id in ids:
            pipe.hgetall(self.keys.crawl(crawl_id))
        return [Crawl.from_record(rec) for rec in pipe.execute() if rec]

    # -- results -----------------------------------------------------------------------------------
    def result(self, crawl_id: str, url: str) -> LinkResult | None:
        """One checked url, with all its referrers; None when unknown or not checked yet."""
        if not url or len(url) > 10_000:
            return None
        raw = self.r.hget(self.keys.urls(crawl_id), url)
        if not raw:
            return None
        res = LinkResult.from_json(url, raw)
        [(res.referrer_count, res.referrers)] = self.referrers(crawl_id, [url])
        return res

    def iter_results(self, crawl_id: str, batch: int = 1000) -> Iterator[LinkResult]:
        """Every checked url of the crawl (pending ones skipped), in no particular order."""
        for url, raw in self.r.hscan_iter(self.keys.urls(crawl_id), count=batch):
            if raw:
                yield LinkResult.from_json(url, raw)

    def problems(
        self,
        crawl_id: str,
        outcomes: tuple[str, ...] = (Outcome.DEAD,),
        referrers: int | None = None,
    ) -> builtins.list[LinkResult]:
        """Checked urls whose outcome is in ``outcomes``, sorted by url, each with its referrers
        (at most ``referrers`` of them when given)."""
        urls = sorted(self.r.smembers(self.keys.problems(crawl_id)))
        return self._with_referrers(crawl_id, urls, outcomes, referrers)

    def redirected(self, crawl_id: str) -> builtins.list[LinkResult]:
        urls = sorted(self.r.smembers(self.keys.redirects(crawl_id)))
        return self._with_referrers(crawl_id, urls, None, 0)

    def _with_referrers(
        self, crawl_id: str, urls: builtins.list[str], outcomes: tuple[str, ...] | None, limit: int | None
    ) -> builtins.list[LinkResult]:
        if not urls:
            return []
        pipe = self.r.pipeline(transaction=False)
        for start in range(0, len(urls), 5000):  # no single call grows with the crawl
            pipe.hmget(self.keys.urls(crawl_id), urls[start:start + 5000])
        raws = [raw for chunk in pipe.execute() for raw in chunk]
        found = [LinkResult.from_json(url, raw) for url, raw in zip(urls, raws, strict=True) if raw]
        found = [res for res in found if outcomes is None or res.outcome in outcomes]
        if limit == 0:
            return found
        for res, (count, refs) in zip(found, self.referrers(crawl_id, [r.url for r in found], limit), strict=True):
            res.referrer_count, res.referrers = count, refs
        return found

    def referrers(
        self, crawl_id: str, urls: builtins.list[str], limit: int | None = None
    ) -> builtins.list[tuple[int, builtins.list[Referrer]]]:
        """For each url, in one round trip: how many referrers it has (the true count: those kept, at
        most LINKPATROL_MAX_REFERRERS, and those counted past them) and the first ``limit`` kept."""
        if not urls:
            return []
        pipe = self.r.pipeline(transaction=False)
        over = self.keys.refs_over(crawl_id)
        for url in urls:
            key = self.keys.refs(crawl_id, url)
            pipe.llen(key)
            pipe.hget(over, url)
            pipe.lrange(key, 0, -1 if limit is None else limit - 1)
        replies = pipe.execute()
        return [
            (int(replies[3 * i]) + int(replies[3 * i + 1] or 0), [Referrer.decode(raw) for raw in replies[3 * i + 2]])
            for i in range(len(urls))
        ]

    def orphans(self, crawl_id: str) -> builtins.list[LinkResult]:
        """Alive HTML pages a sitemap lists that no crawled page links to, sorted by url."""
        urls = sorted(self.r.smembers(self.keys.orphan_candidates(crawl_id)))
        return [res for res in self._with_referrers(crawl_id, urls, (Outcome.OK,), 0) if res.is_html]

    def over_cap_pages(self, crawl_id: str) -> builtins.list[tuple[str, int]]:
        """The pages that held more distinct targets than the per-page cap, with how many links of each
        were not taken, most first (at most ``frontier.OVER_CAP_PAGES``: one bounded hash)."""
        found = self.r.hgetall(self.keys.over_cap_pages(crawl_id))
        return sorted(((url, int(n)) for url, n in found.items()), key=lambda page: (-page[1], page[0]))

    def referrer_counts(self, crawl_id: str, urls: builtins.list[str]) -> builtins.list[int]:
        """How many referrers each url has (the true count, as ``referrers`` gives it)."""
        pipe = self.r.pipeline(transaction=False)
        over = self.keys.refs_over(crawl_id)
        for url in urls:
            pipe.llen(self.keys.refs(crawl_id, url))
            pipe.hget(over, url)
        replies = pipe.execute()
        return [int(replies[2 * i]) + int(replies[2 * i + 1] or 0) for i in range(len(urls))]

    def report_records(self, crawl: Crawl, subset: str) -> builtins.list[ReportRecord]:
        """Compact, url-sorted records of ``subset`` ("problems", "redirects" or "all"); see
        ``linkpatrol.store.report_index``."""
        return load_records(self, crawl, subset)

    def crawlers(self) -> builtins.list[dict[str, Any]]:
        """The live crawler processes (``linkpatrol.store.registry``)."""
        return list_crawlers(self.r, self.keys)

    # -- ledgers -----------------------------------------------------------------------------------
    def count_request(self, who: str, window: int, now: float | None = None) -> tuple[int, float]:
        """Count one crawl creation by client ``who`` in the current fixed window of ``window``
        seconds. Returns the count so far in this window and the seconds until it ends."""
        now = time.time() if now is None else now
        slot = int(now // window)
        key = self.keys.rate_limit(who, slot)
        pipe = self.r.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, window + 1)
        count = pipe.execute()[0]
        return int(count), (slot + 1) * window - now

    def web_secret(self) -> str:
        """The web app's signing key when none is configured: one random key every worker shares."""
        self.r.set(self.keys.web_secret, secrets.token_urlsafe(48), nx=True)
        return str(self.r.get(self.keys.web_secret))

    def mail_sent(self, crawl_id: str, job_id: str, address: str) -> bool:
        """Whether mail job ``job_id`` already handed its mail for ``address`` to SMTP."""
        return bool(self.r.hexists(self.keys.mail_sent(crawl_id), f"{job_id} {address}"))

    def mark_mail_sent(self, crawl_id: str, job_id: str, address: str) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(self.keys.mail_sent(crawl_id), f"{job_id} {address}", repr(time.time()))
        pipe.hdel(self.keys.mail_sent(crawl_id), f"handed {job_id} {address}")
        pipe.execute()

    def mark_mail_handed(self, crawl_id: str, job_id: str, address: str) -> None:
        """The mail went to the server up to its final end-of-data line; its answer is not known yet."""
        self.r.hset(self.keys.mail_sent(crawl_id), f"handed {job_id} {address}", repr(time.time()))

    def mail_handed(self, crawl_id: str, job_id: str, address: str) -> float | None:
        """When an attempt handed the mail over and saw no answer (None: never, or it was answered)."""
        raw = self.r.hget(self.keys.mail_sent(crawl_id), f"handed {job_id} {address}")
        return float(raw) if raw else None

    def clear_mail_handed(self, crawl_id: str, job_id: str, address: str) -> None:
        """The server answered the hand-over with a refusal: the mail was not taken."""
        self.r.hdel(self.keys.mail_sent(crawl_id), f"handed {job_id} {address}")
