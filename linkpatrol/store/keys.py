"""The Redis key layout: the only place that spells a key.

Every key but the start queue starts with the prefix. Every key a crawl creates starts with
``{prefix}:crawl:{id}``, so deleting a crawl is one SCAN over that pattern; a site's keys (``sites``,
``site_crawls``) are shared by its crawls and kept up to date by ``CrawlStore.create`` and ``delete``.
The prefix (``LINKPATROL_PREFIX``, default ``lp``) lets several installs share a Redis.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from linkpatrol.config import Config, default_start_key


def site_id(url: str) -> str:
    """The short, stable name of a site (a crawl's normalised seed url) in keys and page addresses."""
    return hashlib.sha1(url.encode()).hexdigest()[:16]


def _digest(name: str) -> str:
    """A short fixed-length stand-in for a name a client chose (a typed user name: any length, any
    character) in a key."""
    return hashlib.sha256(name.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Keys:
    prefix: str = "lp"
    start_key: str = ""  # empty: the default for the prefix (``config.default_start_key``)

    @classmethod
    def from_config(cls, config: Config) -> Keys:
        return cls(config.prefix, config.start_key)

    # -- global keys -------------------------------------------------------------------------------
    @property
    def crawls(self) -> str:
        """Sorted set: crawl id -> creation time (the crawl history), every crawl but those of
        ``linkpatrol check`` (``check_crawls``)."""
        return f"{self.prefix}:crawls"

    @property
    def check_crawls(self) -> str:
        """Sorted set: crawl id -> creation time, the crawls ``linkpatrol check`` made (``Origin.CHECK``):
        listed apart, in no site's history, the newest ``LINKPATROL_KEEP_CRAWLS`` kept."""
        return f"{self.prefix}:check_crawls"

    @property
    def sites(self) -> str:
        """Sorted set: site url (a crawl's normalised seed, ``Crawl.url``) -> creation time of its newest
        crawl. Written with the crawl record; a site leaves it with its last crawl."""
        return f"{self.prefix}:sites"

    def site_crawls(self, url: str) -> str:
        """Sorted set: crawl id -> creation time, every crawl of one site (its history), written with
        the crawl record and pruned to ``LINKPATROL_KEEP_CRAWLS``."""
        return f"{self.prefix}:site:{site_id(url)}:crawls"

    @property
    def active(self) -> str:
        """Set of crawl ids that may have work in the frontier (queued or running)."""
        return f"{self.prefix}:active"

    @property
    def start(self) -> str:
        """List of start messages that crawlers pop (``start_messages.StartMessage``): scrapy-redis's
        ``<spider>:start_urls``, so ``lpush links:start_urls URL`` starts a crawl."""
        return self.start_key or default_start_key(self.prefix)

    def start_claimed(self, crawler: str) -> str:
        """List of start messages a crawler popped and has not finished seeding."""
        return f"{self.prefix}:start:claimed:{crawler}"

    @property
    def start_dead(self) -> str:
        """List of start messages no crawl came from (``start_messages.DeadStartMessage``: the message as logs
        show it, why, when), the newest ``start_queue.DEAD_KEPT``."""
        return f"{self.prefix}:start:dead"

    @property
    def crawlers(self) -> str:
        """Hash: crawler id -> JSON description (host, pid, started...). The key keeps the name it had
        when crawlers were called workers, so crawlers of both versions share one registry."""
        return f"{self.prefix}:workers"

    def crawler_alive(self, crawler: str) -> str:
        """String with a TTL, refreshed by the crawler's heartbeat: present while it lives."""
        return f"{self.prefix}:worker:{crawler}:alive"

    @property
    def ended_events_processing(self) -> str:
        """List of ended-crawl ids an RQ worker moved out of ``ended_events`` and has not yet
        turned into a mail job (recovered when a worker starts)."""
        return f"{self.prefix}:events:ended:processing"

    @property
    def mail_queue(self) -> str:
        """Name of the RQ queue of mail jobs (RQ spells its own keys from it: ``rq:queue:<name>``...)."""
        return f"{self.prefix}-notifications"

    @property
    def ended_events(self) -> str:
        """List of crawl ids that ended and asked for a notification."""
        return f"{self.prefix}:events:ended"

    def rate_limit(self, who: str, window: int) -> str:
        """Counter of crawls created by one client in one fixed time window (expires with it)."""
        return f"{self.prefix}:ratelimit:{who}:{window}"

    # -- schedules (``linkpatrol.watch.schedules``): outside ``crawl:{id}``, so deleting a crawl leaves them --
    @property
    def schedules(self) -> str:
        """Sorted set: schedule id -> creation time, every schedule."""
        return f"{self.prefix}:schedules"

    @property
    def schedules_due(self) -> str:
        """Sorted set: schedule id -> its next due time (Unix seconds); paused schedules are not in it."""
        return f"{self.prefix}:schedules:due"

    def schedule(self, schedule_id: str) -> str:
        """Hash: the schedule (url, options, every or cron, paused, next_run, last run and crawl)."""
        return f"{self.prefix}:schedule:{schedule_id}"

    def schedule_secrets(self, schedule_id: str) -> str:
        """Hash: the secrets each crawl of the schedule gets, never shown: ``headers`` (a JSON object of
        request headers) and ``webhook_secret``."""
        return f"{self.prefix}:schedule:{schedule_id}:secrets"

    def site_schedules(self, url: str) -> str:
        """Set of the ids of the schedules of one site (a normalised seed url)."""
        return f"{self.prefix}:site:{site_id(url)}:schedules"

    def site_accepted(self, url: str) -> str:
        """Hash: url (as the site's crawls record it; ``url#name`` for a missing anchor) -> who accepted it,
        when and why (``linkpatrol.reports.accepted``): the links a site owner knows are broken and accepts. Outside
        every crawl's keys, so deleting or pruning crawls leaves them; at most ``accepted.MAX_ACCEPTED``."""
        return f"{self.prefix}:site:{site_id(url)}:accepted"

    def site_pages(self, url: str) -> str:
        """Hash: page url -> ``wire.KnownPage`` (compressed: read it as bytes), the site's pages as their
        last full read left them, for conditional re-reads (``frontier.known_pages``). Dropped with the
        site's last crawl."""
        return f"{self.prefix}:site:{site_id(url)}:pages"

    def site_pages_order(self, url: str) -> str:
        """Sorted set: page url -> when its ``site_pages`` entry was last written; the oldest go first
        past ``LINKPATROL_REVALIDATE_PAGES``."""
        return f"{self.prefix}:site:{site_id(url)}:pages:order"

    @property
    def schedule_queue(self) -> str:
        """Name of the RQ queue of schedule ticks (``web.schedules``), read by the mail worker too."""
        return f"{self.prefix}-schedules"

    @property
    def web_secret(self) -> str:
        """String: the web app's session and CSRF signing key, when LINKPATROL_SECRET_KEY is unset."""
        return f"{self.prefix}:web:secret"

    # -- logins (``linkpatrol.login.throttle``, ``linkpatrol.login.sessions``): hashed names, TTLs ------
    def login_failures(self, who: str) -> str:
        """Counter of recent failed logins of one account or one client address (``who``:
        ``account:<name>`` or ``address:<ip>``, hashed); it expires a window after the last failure."""
        return f"{self.prefix}:login:{_digest(who)}:failures"

    def login_block(self, who: str) -> str:
        """String whose remaining TTL is how long logins of ``who`` are refused (429)."""
        return f"{self.prefix}:login:{_digest(who)}:blocked"

    def login_known(self, account: str) -> str:
        """Sorted set: client address -> time of its last successful login to ``account``; the
        account's block does not hold these addresses back."""
        return f"{self.prefix}:login:{_digest(account)}:known"

    def login_sessions(self, user: str) -> str:
        """Sorted set: session id -> expiry (Unix seconds), the open sign-in sessions of one user;
        a session cookie whose id is not in it is signed out."""
        return f"{self.prefix}:web:sessions:{_digest(user)}"

    # -- per-crawl keys ----------------------------------------------------------------------------
    def crawl(self, crawl_id: str) -> str:
        """Hash: the crawl record (id, url, options, state, timestamps, counters)."""
        return f"{self.prefix}:crawl:{crawl_id}"

    def crawl_pattern(self, crawl_id: str) -> str:
        return f"{self.prefix}:crawl:{crawl_id}:*"

    def crawl_headers(self, crawl_id: str) -> str:
        """Hash: header name -> value, the request headers the crawl sends to its own site (secrets:
        kept out of the record, whose options name them only; written with the record)."""
        return f"{self.prefix}:crawl:{crawl_id}:headers"

    def crawl_secrets(self, crawl_id: str) -> str:
        """Hash: the crawl's secrets other than request headers (``webhook_secret``): never shown."""
        return f"{self.prefix}:crawl:{crawl_id}:secrets"

    def mail_sent(self, crawl_id: str) -> str:
        """Hash: "<job id> <address>" -> time a report mail of the crawl was accepted by SMTP (or written
        to the outbox); "handed <job id> <address>" -> time it was handed over with no answer seen yet."""
        return f"{self.prefix}:crawl:{crawl_id}:mail"

    def queue(self, crawl_id: str) -> str:
        """List of JSON request messages waiting to be fetched."""
        return f"{self.prefix}:crawl:{crawl_id}:queue"

    def inflight(self, crawl_id: str) -> str:
        """Hash: url -> "crawler id\\nmessage" for every request a crawler holds."""
        return f"{self.prefix}:crawl:{crawl_id}:inflight"

    def lease_clock(self, crawl_id: str) -> str:
        """Sorted set: url -> when work on its lease started (taken, and renewed while it waits its
        turn for the downloader); a lease whose clock runs past the bound is decided (OVERDUE)."""
        return f"{self.prefix}:crawl:{crawl_id}:leaseclock"

    def urls(self, crawl_id: str) -> str:
        """Hash: url -> "" while pending, then the JSON result. Doubles as the crawl's dupefilter."""
        return f"{self.prefix}:crawl:{crawl_id}:urls"

    def problems(self, crawl_id: str) -> str:
        """Set of checked urls whose outcome is not ok (dead, blocked, rate limited...)."""
        return f"{self.prefix}:crawl:{crawl_id}:problems"

    def redirects(self, crawl_id: str) -> str:
        """Set of checked urls that answered with at least one redirect."""
        return f"{self.prefix}:crawl:{crawl_id}:redirects"

    def host_verdicts(self, crawl_id: str) -> str:
        """Hash: host -> error kind, for the crawl's hosts whose name does not resolve or whose port
        refuses connections: the crawl's other links to them are decided without requests."""
        return f"{self.prefix}:crawl:{crawl_id}:hosts"

    def anchors(self, crawl_id: str) -> str:
        """Hash: page url -> its ids and <a name>s, ``"\\nid1\\nid2\\n"`` (pages read for anchors)."""
        return f"{self.prefix}:crawl:{crawl_id}:anchors"

    def wanted_prefix(self, crawl_id: str) -> str:
        """Prefix of the sets ``<prefix><url>`` of the anchors links asked of a page not read yet;
        checked (and deleted) when the page is."""
        return f"{self.prefix}:crawl:{crawl_id}:want:"

    def page_decisions(self, crawl_id: str) -> str:
        """Hash: url -> "1"/"0", whether a promoted page (queued as a check, answered HTML) took a place
        in the page budget; written by the first LINKS batch of the page, dropped by its COMPLETE."""
        return f"{self.prefix}:crawl:{crawl_id}:decided"

    def id_templates(self, crawl_id: str) -> str:
        """Hash: id template (``linkpatrol.model.traps.id_template``) -> urls of it queued as pages; past a
        threshold the template's urls are held back as a possible crawl trap."""
        return f"{self.prefix}:crawl:{crawl_id}:templates"

    def held_back(self, crawl_id: str) -> str:
        """Set of urls held back as a possible crawl trap: checked, never parsed as pages."""
        return f"{self.prefix}:crawl:{crawl_id}:held"

    def orphan_candidates(self, crawl_id: str) -> str:
        """Set of urls a sitemap listed before any page linked to them; a page's link takes one out.
        What is left, alive and HTML, when the crawl ends are its orphan pages."""
        return f"{self.prefix}:crawl:{crawl_id}:orphans"

    def report_index(self, crawl_id: str) -> str:
        """String: every checked url of an ended crawl in one compact, url-sorted blob, written by the
        web app on first use so report pages of 100k links stay fast (rebuilt when the count changes)."""
        return f"{self.prefix}:crawl:{crawl_id}:index"

    def refs_prefix(self, crawl_id: str) -> str:
        return f"{self.prefix}:crawl:{crawl_id}:refs:"

    def refs(self, crawl_id: str, url: str) -> str:
        """List of JSON referrers ``[page, text, element, fragment]`` of a not-ok (or pending) url."""
        return f"{self.prefix}:crawl:{crawl_id}:refs:{url}"

    def refs_over(self, crawl_id: str) -> str:
        """Hash: url -> referrers found past the ``refs`` list's cap (``LINKPATROL_MAX_REFERRERS``), not
        kept: the list's length plus this is the url's true referrer count. Dropped with the list."""
        return f"{self.prefix}:crawl:{crawl_id}:refsover"

    def over_cap_pages(self, crawl_id: str) -> str:
        """Hash: page url -> links on it past the per-page cap (counted, not followed), for at most
        ``frontier.OVER_CAP_PAGES`` pages; the record's ``links_over_cap`` counts them all."""
        return f"{self.prefix}:crawl:{crawl_id}:overcap"

    def landed(self, crawl_id: str) -> str:
        """Hash: redirected url -> the result a missing ``#anchor`` of it is stored with (``final_url``:
        the page it landed on, whose anchors decide its fragments; its redirects)."""
        return f"{self.prefix}:crawl:{crawl_id}:landed"

    def link_cache(self, url: str) -> str:
        """String with a TTL (``LINKPATROL_LINK_CACHE_TTL``): a link to another site that a crawl found
        ok (``wire.CachedCheck``), shared by every crawl and crawler (``frontier.link_cache``)."""
        return f"{self.prefix}:linkcache:{hashlib.sha1(url.encode('utf-8', 'surrogatepass')).hexdigest()[:24]}"

    def link_cache_order(self) -> str:
        """Sorted set: link cache entry key -> when written (Unix seconds), for the count bound
        (``LINKPATROL_LINK_CACHE_MAX``: the entries written longest ago are dropped first)."""
        return f"{self.prefix}:linkcache:order"

    # -- per-host politeness keys: shared by every crawl and crawler, each with a TTL -----------------
    def host_slots(self, host: str) -> str:
        """Sorted set: lease token -> expiry (Redis time, ms) of each request under way to the host."""
        return f"{self.prefix}:host:{host}:slots"

    def host_bucket(self, host: str) -> str:
        """Hash: the host's token bucket (``t`` tokens, ``ts`` last refill in Redis time, ms)."""
        return f"{self.prefix}:host:{host}:bucket"

    def host_not_before(self, host: str) -> str:
        """String whose remaining TTL is how long every crawler must leave the host alone."""
        return f"{self.prefix}:host:{host}:notbefore"

    def host_strikes(self, host: str) -> str:
        """Counter of recent 429 answers without a Retry-After (a run of them slows the host down)."""
        return f"{self.prefix}:host:{host}:strikes"

    @property
    def host_events(self) -> str:
        """Pub/sub channel: ``host ms`` when a host asked every crawler to wait ``ms``."""
        return f"{self.prefix}:host-events"

    @property
    def crawl_events(self) -> str:
        """Pub/sub channel: a crawl's id when a crawler started it, so that idle peers join at once."""
        return f"{self.prefix}:crawl-events"
