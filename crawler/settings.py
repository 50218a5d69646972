"""Scrapy settings for the linkpatrol crawler: every knob in one place, read from the environment once.

The shared configuration (Redis, prefix, start queue, leases) comes from ``linkpatrol.config``; each
value is a Scrapy setting, so ``scrapy crawl links -s REDIS_URL=...`` overrides it. The crawler-only
environment variables: LINKPATROL_CONCURRENCY, LINKPATROL_CONCURRENCY_PER_HOST, LINKPATROL_TIMEOUT,
LINKPATROL_LOG_LEVEL, LINKPATROL_USER_AGENT, LINKPATROL_RETRY_AFTER_MAX, the politeness ones below.
"""

import logging
import os

from scrapy.settings import default_settings as _scrapy

from linkpatrol import env as read
from linkpatrol.config import Config

_config = Config.from_env()


def _scrapy_components(setting: str, off: set[str]) -> dict[str, int]:
    """Scrapy's own list of components (``<setting>_BASE``) without ``off``. Scrapy imports every class
    a components setting names, even with None (its settings turn the names into classes), so a
    component we turn off is left out of Scrapy's list rather than set to None in ours. A name Scrapy
    no longer has is an error at start, not a component silently back on."""
    base: dict[str, int] = getattr(_scrapy, f"{setting}_BASE")
    if unknown := off - base.keys():
        raise ValueError(f"{setting}_BASE has no {sorted(unknown)}: crawler/settings.py names what Scrapy renamed")
    return {name: order for name, order in base.items() if name not in off}


BOT_NAME = "linkpatrol"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"


LOG_LEVEL = read.text(None, "LINKPATROL_LOG_LEVEL", "INFO")
# Scrapy builds its INFO line of versions at every start whatever the level (ten package-metadata reads
# and ``uname -p`` in a process of its own: 12 ms of a crawler's start); when INFO is not logged, nothing.
_level = int(LOG_LEVEL) if LOG_LEVEL.isdigit() else logging.getLevelName(LOG_LEVEL.upper())
if isinstance(_level, int) and _level > logging.INFO:
    LOG_VERSIONS: list[str] = []
LOG_FORMATTER = "crawler.logs.QuietLogFormatter"  # no record per page or item under DEBUG
STATS_CLASS = "crawler.stats.PlainStatsCollector"  # Scrapy's, without its per-attribute deprecation shim
USER_AGENT = read.text(None, "LINKPATROL_USER_AGENT", "linkpatrol/0.1 (dead-link checker)")

# -- concurrency -------------------------------------------------------------------------------------
CONCURRENT_REQUESTS = read.whole(None, "LINKPATROL_CONCURRENCY", 32, minimum=1)
CONCURRENT_REQUESTS_PER_DOMAIN = read.whole(None, "LINKPATROL_CONCURRENCY_PER_HOST", 16, minimum=1)
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = read.number(None, "LINKPATROL_TIMEOUT", 20.0, minimum=1)
# In-scope HTML pages are read up to the crawl's size cap (LINKPATROL_MAX_PAGE_SIZE MB, or the crawl's
# max_page_size) and parsed as far as they arrived; everything else is cut after its headers. A compressed
# answer is decoded up to the same cap (downloadermiddlewares/decoded_size.py). This is only the hard
# ceiling above every cap.
DOWNLOAD_MAXSIZE = 1025 * 1024 * 1024
LINKPATROL_MAX_PAGE_SIZE = read.whole(None, "LINKPATROL_MAX_PAGE_SIZE", 32, minimum=1)
# Bytes of answers a crawler decodes and parses at once (MB; crawler/parse_budget.py): one more waits,
# still compressed, until others are parsed; one larger than the budget goes alone. 0: no budget.
LINKPATROL_PARSE_BUDGET_MB = read.whole(None, "LINKPATROL_PARSE_BUDGET_MB", 64)
# Distinct targets taken from one page (or one sitemap; a page's repeated links and #fragments of a target
# already taken do not count, see crawler/extract.py); the rest are counted on the crawl and each page
# named (CrawlStore.over_cap_pages). The Python docs' biggest index links 434 targets; a hostile page
# millions. Also the most ids a page may hold for its anchors to be checked (beyond it, fragments naming
# the page are not checked).
LINKPATROL_MAX_LINKS_PER_PAGE = read.whole(None, "LINKPATROL_MAX_LINKS_PER_PAGE", 10000, minimum=1)
DOWNLOAD_WARNSIZE = 0
# A checker verifies certificates: an invalid one is a broken link for a visitor.
DOWNLOAD_VERIFY_CERTIFICATES = True
# http and https on asyncio's own client, aiohttp (crawler/download/handler.py: ~14% less CPU than
# Twisted's), its resolver applying the address policy to what it connects to (crawler/download/resolver.py:
# getaddrinfo, IPv4 and IPv6, its own short cache). Twisted's resolver and DNS cache serve no connection.
DOWNLOAD_HANDLERS = {"http": "crawler.download.handler.DownloadHandler",
                     "https": "crawler.download.handler.DownloadHandler"}
DNSCACHE_ENABLED = False
# Scrapy's downloader with a downloader-middleware chain that spares each call a coroutine and a name
# (crawler/download/downloader.py): about 17 µs a request.
DOWNLOADER = "crawler.download.downloader.Downloader"
DOWNLOADER_STATS = False  # per-response byte counters nobody reads
# uvloop: about 10% less CPU per url than asyncio's own loop (bench/crawl.py, 2000 pages, 5 runs).
ASYNCIO_EVENT_LOOP = (None if os.environ.get("LINKPATROL_EVENT_LOOP") == "" else
                      read.text(None, "LINKPATROL_EVENT_LOOP", "uvloop.Loop"))  # set and empty: asyncio's own loop
# No Twisted reactor (Scrapy's reactorless mode): with the aiohttp download handler nothing needs one,
# and every Deferred-to-asyncio bridge goes: about 8% less CPU a crawl. A crawler that renders turns it
# back on (below): scrapy-playwright needs it.
TWISTED_REACTOR_ENABLED = False

# -- Redis, through scrapy-redis's connection module (spider start queue, frontier, politeness) ---------
REDIS_URL = _config.redis_url
# redis_cls: the core's asyncio client (linkpatrol.store.connection), so every Redis call of the crawler awaits.
REDIS_PARAMS = {"redis_cls": "linkpatrol.store.connection.AsyncClient"}
REDIS_START_URLS_KEY = _config.start_key  # scrapy-redis's name; default "links:start_urls"
LINKPATROL_PREFIX = _config.prefix
LINKPATROL_WORKER_TTL = _config.worker_ttl
LINKPATROL_REAP_INTERVAL = _config.reap_interval
LINKPATROL_MAX_REFERRERS = _config.max_referrers
LINKPATROL_KEEP_CRAWLS = _config.keep_crawls  # crawls kept per site when a start message creates one
# Limits a crawl gets when it leaves them unset (0: none), written into its record when it starts; and
# how many urls of one id template (/day/N) are followed before the rest are held back as a trap.
LINKPATROL_MAX_PAGES = _config.max_pages
LINKPATROL_MAX_DEPTH = _config.max_depth
LINKPATROL_MAX_DURATION = _config.max_duration
LINKPATROL_TRAP_IDS = _config.trap_ids
# A lease whose work started this long ago (its request reached the downloader; the wait for the shared
# politeness does not count) is decided "timeout" by a reaper: a lost task costs one url, not a crawl.
LINKPATROL_LEASE_MAX_SECONDS = read.number(None, "LINKPATROL_LEASE_MAX_SECONDS", 300.0, minimum=1)
# A url held by this many crawlers that stopped answering (heartbeat expired) is decided "timeout", not
# queued again to stop the next one (0: no bound).
LINKPATROL_LEASE_ATTEMPTS = read.whole(None, "LINKPATROL_LEASE_ATTEMPTS", 3, minimum=1)
# Seconds a crawler gets to stop after SIGTERM/SIGINT; then it gives its leases back and exits anyway.
LINKPATROL_STOP_GRACE = read.number(None, "LINKPATROL_STOP_GRACE", 3.0, minimum=0)
# Re-checks (downloadermiddlewares/conditional.py): pages of a site its earlier crawls read are asked for
# with If-None-Match / If-Modified-Since, a 304 reusing their kept links; a page is read in full at every
# LINKPATROL_REVALIDATE_EVERY-th crawl anyway (below 2: always, no conditional requests). At most
# LINKPATROL_REVALIDATE_PAGES pages are kept per site (about 1 kB each; the oldest go first).
LINKPATROL_REVALIDATE_EVERY = read.whole(None, "LINKPATROL_REVALIDATE_EVERY", 10, minimum=1)
LINKPATROL_REVALIDATE_PAGES = read.whole(None, "LINKPATROL_REVALIDATE_PAGES", 20000)
# Seconds a link to another site found ok (2xx, by a GET) is taken as ok by every crawl without a
# request (downloadermiddlewares/link_cache.py; failures are never cached). 0: off.
LINKPATROL_LINK_CACHE_TTL = read.whole(None, "LINKPATROL_LINK_CACHE_TTL", 21600)
# Entries the shared link cache keeps at most, all crawlers together (the ones written longest ago are
# dropped first; up to about 700 bytes of Redis memory each). 0: bounded by the TTL only.
LINKPATROL_LINK_CACHE_MAX = read.whole(None, "LINKPATROL_LINK_CACHE_MAX", 100000)
EXTENSIONS = {
    "crawler.extensions.frontier.FrontierExtension": 0,
    # Scrapy's signal manager, with each signal's receivers looked up once and kept (crawler/signals.py).
    "crawler.signals.SignalsExtension": 0,
    # Collection resumes once the engine runs, with what start-up built frozen out of it.
    "crawler.extensions.collector.StartupCollector": 0,
    # A request's way through the engine and the scraper as one asyncio task, without the Deferreds and
    # tasks of Scrapy's (crawler/engine.py, crawler/scraping.py).
    "crawler.extensions.lean_path.LeanPath": 0,
}
# Off here anyway (NotConfigured), so never imported: 16 ms of every start, 12 of them the remote
# control's import of aiohttp's web server.
EXTENSIONS_BASE = _scrapy_components("EXTENSIONS", {
    "scrapy.extensions.telnet.TelnetConsole",
    "scrapy.extensions.remote_control.RemoteControl",
    "scrapy.extensions.memdebug.MemoryDebugger",
    "scrapy.extensions.feedexport.FeedExporter",
    "scrapy.extensions.spiderstate.SpiderState",
    "scrapy.extensions.throttle.AutoThrottle",
})

# -- the frontier lives in Redis; Scrapy's scheduler only holds what this process leased ---------------
# scrapy-redis's scheduler, queues and dupefilter stay unused (docs/ARCHITECTURE.md says why).
DUPEFILTER_CLASS = "scrapy.dupefilters.BaseDupeFilter"
SCHEDULER_PRIORITY_QUEUE = "scrapy.pqueues.ScrapyPriorityQueue"

# -- responses ------------------------------------------------------------------------------------------
HTTPERROR_ALLOW_ALL = True  # every status reaches the spider: a 404 is a result, not an error
REDIRECT_MAX_TIMES = 20  # what browsers follow; loops are told apart (redirect-loop)
METAREFRESH_ENABLED = False
# A jar per crawl in each crawler process, as a browser profile keeps one (crawl_cookies.py): at most
# this many cookies a jar (the oldest go first), dropped when the crawl ends. COOKIES_DEBUG is ignored.
COOKIES_ENABLED = True
LINKPATROL_COOKIES_PER_CRAWL = 1000
REFERER_ENABLED = False
ROBOTSTXT_OBEY = True  # per crawl, "respect_robots": false sets dont_obey_robotstxt
RETRY_ENABLED = True
RETRY_TIMES = 1
RETRY_HTTP_CODES = [502, 504, 408, 522, 524]  # 429 and 503 are RetryAfterMiddleware's
# Only failures that a second try may cure; a refused connection or a timeout is the answer.
# A connection closed or reset before the answer (aiohttp.ServerDisconnectedError, ClientOSError: Twisted's
# ConnectionDone, ConnectionLost) is not listed: aiohttp sends a GET or a HEAD once more itself.
RETRY_EXCEPTIONS = ["scrapy.exceptions.ResponseDataLossError"]  # the answer was cut short
RETRY_GIVE_UP_LOG_LEVEL = "DEBUG"

LINKPATROL_RATE_LIMIT_RETRIES = read.whole(None, "LINKPATROL_RATE_LIMIT_RETRIES", 2)
LINKPATROL_RETRY_AFTER_MAX = read.number(None, "LINKPATROL_RETRY_AFTER_MAX", 30.0, minimum=0)
LINKPATROL_RETRY_AFTER_DEFAULT = 1.0

_MW = "crawler.downloadermiddlewares"
DOWNLOADER_MIDDLEWARES = {
    f"{_MW}.cancel.CancelledCrawlMiddleware": 50,
    f"{_MW}.address_guard.AddressGuardMiddleware": 60,  # off with LINKPATROL_ALLOW_PRIVATE=1
    f"{_MW}.host_verdict.HostVerdictMiddleware": 70,  # a host known dead: decided before any pacing
    f"{_MW}.link_cache.LinkCacheMiddleware": 75,  # a link to another site found ok lately: no request
    f"{_MW}.site_headers.SiteHeadersMiddleware": 80,  # the crawl's secret headers, to its site only
    f"{_MW}.conditional.ConditionalMiddleware": 85,  # If-None-Match / If-Modified-Since for known pages
    f"{_MW}.redirect.LinkRedirectMiddleware": 600,
    # Scrapy's HttpCompressionMiddleware, in its place (after redirects on the way back), decoding up to
    # the crawl's size cap: a gzip bomb is too-large, not a gigabyte in memory.
    f"{_MW}.decoded_size.DecodedSizeMiddleware": 590,
    f"{_MW}.retry_after.RetryAfterMiddleware": 560,
    f"{_MW}.head_fallback.HeadFallbackMiddleware": 650,
    # After redirects and the HEAD fallback on the way out, before them on the way back: every hop and
    # every retried GET sends what the answer before it set.
    f"{_MW}.crawl_cookies.CrawlCookiesMiddleware": 700,
    f"{_MW}.politeness.PolitenessMiddleware": 950,  # last before the download: slots held only while fetching
    # Pages of crawls that render: to the browser, parked for a crawler that renders, or read as they are.
    # After the address guard, the site's headers and the conditional re-read (whose validators it drops
    # from a page the browser loads), before robots.txt and the politeness.
    "crawler.render.middleware.RenderMiddleware": 90,
}
# Scrapy's, off: ours above take the place of its redirects, decompression and cookies; the frontier
# decides what is in scope (offsite); a crawl's credentials go in its headers option (httpauth).
DOWNLOADER_MIDDLEWARES_BASE = _scrapy_components("DOWNLOADER_MIDDLEWARES", {
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware",
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware",
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware",
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware",
    "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware",
})

# -- politeness shared by every crawler through Redis (linkpatrol/politeness); 0 means no shared limit ------
LINKPATROL_POLITENESS_ENABLED = read.flag(None, "LINKPATROL_POLITENESS", True)
# other hosts, all crawlers together
LINKPATROL_HOST_CONCURRENCY = read.whole(None, "LINKPATROL_HOST_CONCURRENCY", 2, minimum=1)
LINKPATROL_HOST_RATE = read.number(None, "LINKPATROL_HOST_RATE", 5.0, minimum=0)  # requests per second
# the crawled site, unless the crawl says
LINKPATROL_SITE_CONCURRENCY = read.whole(None, "LINKPATROL_SITE_CONCURRENCY", 0)
LINKPATROL_SITE_RATE = read.number(None, "LINKPATROL_SITE_RATE", 0.0, minimum=0)
# Leases one crawler holds at once for one other host: -1 = twice LINKPATROL_HOST_CONCURRENCY, 0 = no cap.
LINKPATROL_HOST_LEASES = read.whole(None, "LINKPATROL_HOST_LEASES", -1, minimum=-1)
# longest shared Retry-After honoured
LINKPATROL_HOST_WAIT_MAX = read.number(None, "LINKPATROL_HOST_WAIT_MAX", 60.0, minimum=0)

# The spider yields one item per request and never a request: every spider middleware would only
# cost time on each callback's output (18% of a crawler's CPU in a profile), so none runs (the HTTP
# error one would drop nothing anyway: HTTPERROR_ALLOW_ALL).
SPIDER_MIDDLEWARES_BASE: dict[str, int] = {}
ITEM_PIPELINES = {"crawler.pipelines.FrontierPipeline": 100}
# One item per callback: Scrapy starts this many worker tasks for every callback's output whatever
# it holds (100 by default: 8% of a crawler's CPU in a profile went to creating them).
CONCURRENT_ITEMS = 1

# -- safety and noise ---------------------------------------------------------------------------------
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False  # Scrapy 2.19's local code-execution endpoint: never in a crawler
LOGSTATS_INTERVAL = 30.0

# -- rendering pages in a headless browser (crawler/render, docs/RENDERING.md) -------------------------
# Pages this crawler renders at once (0: it never renders; pages that need a browser wait for a crawler
# that does). Debian's chromium, never a browser of Playwright's own download.
LINKPATROL_RENDER_PAGES = read.whole(None, "LINKPATROL_RENDER_PAGES", 0)
LINKPATROL_CHROMIUM = read.text(None, "LINKPATROL_CHROMIUM", "/usr/bin/chromium")
# Seconds a page may take, all included (navigation, settling, routes): then it is closed and read as it is.
LINKPATROL_RENDER_TIMEOUT = read.number(None, "LINKPATROL_RENDER_TIMEOUT", 30.0, minimum=1)
# Seconds at most to wait after the load event for the network to be quiet (500 ms without requests).
LINKPATROL_RENDER_SETTLE = read.number(None, "LINKPATROL_RENDER_SETTLE", 2.0, minimum=0)
LINKPATROL_RENDER_ROUTES = read.whole(None, "LINKPATROL_RENDER_ROUTES", 10)  # hash routes (#/...) visited a page
# Seconds parked pages wait while no live crawler renders; then they are read as they are (not-rendered).
LINKPATROL_RENDER_WAIT = read.number(None, "LINKPATROL_RENDER_WAIT", 30.0, minimum=0)
# Megabytes of JavaScript heap a page may use (V8's old space): past it the page crashes, not the crawler.
LINKPATROL_RENDER_MEMORY_MB = read.whole(None, "LINKPATROL_RENDER_MEMORY_MB", 512, minimum=16)
if LINKPATROL_RENDER_PAGES > 0 and os.access(LINKPATROL_CHROMIUM, os.X_OK):
    # scrapy-playwright's handler (on Twisted's asyncio reactor, switched on below) for pages with
    # meta["playwright"]; every other request goes to crawler/download's handler as without it.
    DOWNLOAD_HANDLERS = {"http": "crawler.render.handler.RenderDownloadHandler",
                         "https": "crawler.render.handler.RenderDownloadHandler"}
    PLAYWRIGHT_BROWSER_TYPE = "chromium"
    PLAYWRIGHT_LAUNCH_OPTIONS = {
        "executable_path": LINKPATROL_CHROMIUM,
        "headless": True,
        "args": [f"--js-flags=--max-old-space-size={LINKPATROL_RENDER_MEMORY_MB}", "--disable-dev-shm-usage",
                 "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync",
                 "--disable-component-update", "--disable-default-apps", "--mute-audio"],
    }
    PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = LINKPATROL_RENDER_PAGES
    PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = LINKPATROL_RENDER_TIMEOUT * 1000
    PLAYWRIGHT_RESTART_DISCONNECTED_BROWSER = True
    TWISTED_REACTOR_ENABLED = True  # scrapy-playwright runs on Twisted's asyncio reactor
