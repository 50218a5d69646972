"""One check from start to end: what to crawl, what to start, the crawl, the report, the exit code.

Without ``REDIS_URL`` everything is local: a private Redis and ``--crawlers`` crawler processes in a
temporary folder (``services.LocalServices``). With it, the crawl runs on the shared crawlers (plus
local ones when ``--crawlers`` is given). A folder is served by ``folder.FolderServer``. Whatever
happens (the crawl ends, fails, times out, Ctrl-C or SIGTERM arrives), everything started is stopped
and the temporary folder removed before the command returns.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import IO, Any
from urllib.parse import urlsplit

from linkpatrol import durations
from linkpatrol import env as read
from linkpatrol.cli.check.folder import FolderServer
from linkpatrol.cli.check.formats import render
from linkpatrol.cli.check.progress import Progress, Snapshot, make_progress
from linkpatrol.cli.check.reports import GROUPINGS, Display, Report, summary
from linkpatrol.cli.check.services import LocalServices, ServiceFailed
from linkpatrol.cli.warm_crawlers import local_crawlers
from linkpatrol.config import Config
from linkpatrol.model.options import CrawlOptions, InvalidOption
from linkpatrol.model.records import Crawl, CrawlState, Origin
from linkpatrol.model.rules import remap_prefix
from linkpatrol.model.urls import InvalidURL, normalize_url
from linkpatrol.model.verdicts import PROBLEM_OUTCOMES, ErrorKind, Outcome
from linkpatrol.model.wire import LinkResult
from linkpatrol.reports.accepted import AcceptedLinks
from linkpatrol.store.connection import RedisError, client, unavailable
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INCOMPLETE = 0, 1, 2, 3
POLL = 0.2  # seconds between two looks at the crawl
# ... and during its first QUICK_POLLS seconds: a small site's crawl ends within a second, and the
# report should not wait a tenth of a second on average to see it (two Redis calls a look).
QUICK_POLL, QUICK_POLLS = 0.02, 10.0
NO_CRAWLER_NOTE = 5.0  # seconds a crawl on shared crawlers may stay queued before we say none runs
CRAWLER_SETTINGS = "crawler.settings"
MAX_STARTUP = 120.0  # seconds: a process older than that when check starts is no command line's (a test's)
SEED_HINTS: dict[str, str] = {
    ErrorKind.ADDRESS_NOT_ALLOWED: "; pass --allow-private to check a private or loopback address",
    ErrorKind.ROBOTS: "; robots.txt forbids it: pass --no-robots to check it anyway",
}


@dataclass
class CheckRequest:
    """What ``linkpatrol check`` was asked (the command line's flags)."""

    target: str  # a URL or a folder
    options: CrawlOptions = field(default_factory=CrawlOptions)
    fail_on: tuple[Outcome, ...] = (Outcome.DEAD,)
    fmt: str = "text"
    output: str | None = None
    progress: str = "auto"
    crawlers: int | None = None  # None: one per CPU without REDIS_URL, none with it
    timeout: float | None = None
    allow_private: bool = False
    site_url: str | None = None
    group_by: str = GROUPINGS[0]
    started_at: float | None = None  # epoch seconds the user started the command (process_started())
    config: str | None = None  # the config file the options came from (``check.config``), for a note


def process_started() -> float:
    """When this process started (epoch seconds), so that the check's time is what its user waited,
    Python's start-up and imports included: Linux's /proc gives the start in clock ticks since boot.
    Now, where it does not, or when the process is older than a command's start-up could make it."""
    now = time.time()
    try:
        with open("/proc/self/stat", "rb") as stat:
            ticks = int(stat.read().rsplit(b")", 1)[1].split()[19])  # field 22, starttime
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return now
    return now - age if 0 <= age < MAX_STARTUP else now


RENDER_PAGES = 2  # pages each crawler a check starts renders at once, with --render auto|always


def chromium(env: dict[str, str]) -> str:
    """The browser the crawlers render with (``LINKPATROL_CHROMIUM``, as crawler/settings.py reads it)."""
    return read.text(env, "LINKPATROL_CHROMIUM", "/usr/bin/chromium")


class BadInput(ValueError):
    def __init__(self, flag: str, message: str) -> None:
        super().__init__(f"{flag}: {message}")


class Incomplete(RuntimeError):
    """The run could not complete; the message says why."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM: raised once in the main thread, like KeyboardInterrupt."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)


@dataclass(frozen=True)
class Plan:
    """Where the crawl starts and how reports spell its URLs, decided before anything starts."""

    url: str | None  # the site's URL, or None for a folder
    folder: Path | None
    site_url: str | None  # the production address of what is checked, ending in "/"
    shared: bool  # REDIS_URL is set: the crawl runs on the shared crawlers
    crawlers: int  # local crawler processes to start

    @classmethod
    def of(cls, request: CheckRequest, env: dict[str, str]) -> Plan:
        url, folder = None, None
        if Path(request.target).is_dir():
            folder = Path(request.target)
        elif "://" in request.target:
            try:
                url = normalize_url(request.target)[0]
            except InvalidURL as exc:
                raise BadInput("URL|DIR", str(exc)) from None
        else:
            raise BadInput("URL|DIR", f"{request.target!r} is neither a folder nor an http(s) URL")
        site_url = None
        if request.site_url is not None:
            try:
                site_url = remap_prefix(request.site_url)
            except ValueError as exc:
                raise BadInput("--site-url", str(exc)) from None
            if urlsplit(site_url).query:
                raise BadInput("--site-url", "the site's address has no ?query")
            site_url += "" if site_url.endswith("/") else "/"
        shared = bool(env.get("REDIS_URL"))
        if request.options.notify and not shared:
            raise BadInput("--notify", "mail is sent by a shared service: set REDIS_URL to the Redis its "
                                       "mail worker reads")
        if request.output is not None and not Path(request.output).resolve().parent.is_dir():
            raise BadInput("--output", f"no folder {str(Path(request.output).parent)!r} to write into")
        crawlers = local_crawlers(request.crawlers, env)
        if request.options.render != "never" and crawlers and not os.access(chromium(env), os.X_OK):
            raise BadInput("--render", f"the crawlers this check starts render with Debian's chromium, and there "
                                       f"is none at {chromium(env)} (apt-get install chromium, or set "
                                       f"LINKPATROL_CHROMIUM)")
        return cls(url, folder, site_url, shared, crawlers)


class _Signals:
    """SIGINT and SIGTERM raise Interrupted once; while stopping, further ones are ignored."""

    def __init__(self) -> None:
        self.previous: dict[int, Any] = {}
        self.caught: int | None = None

    def __enter__(self) -> _Signals:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.previous[signum] = signal.signal(signum, self._raise)
        return self

    def _raise(self, signum: int, frame: FrameType | None) -> None:
        if self.caught is None:
            self.caught = signum
            raise Interrupted(signum)

    def hold(self) -> None:
        """From now on SIGINT and SIGTERM are ignored until ``__exit__``."""
        for signum in self.previous:
            signal.signal(signum, signal.SIG_IGN)

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


def run(request: CheckRequest, env: dict[str, str] | None = None, out: IO[str] = sys.stdout,
        err: IO[str] = sys.stderr) -> int:
    """The exit code: 0 nothing failed, 1 links failed, 2 bad input, 3 the run could not complete."""
    environ = dict(os.environ if env is None else env)
    try:
        plan = Plan.of(request, environ)
    except BadInput as exc:
        print(f"error: {exc}", file=err)
        return EXIT_BAD_INPUT
    return Check(request, plan, environ, out, err).run()


class Check:
    def __init__(self, request: CheckRequest, plan: Plan, env: dict[str, str], out: IO[str], err: IO[str]) -> None:
        self.request, self.plan, self.env, self.out, self.err = request, plan, env, out, err
        self.progress: Progress = make_progress(request.progress, err)
        self.services: LocalServices | None = None
        self.folder: FolderServer | None = None
        self.store: CrawlStore | None = None
        self.client: Any = None
        self.keys: Keys | None = None
        self.config: Config | None = None
        self.crawl_id: str | None = None
        # From the command's start (when the command line says when that was): every time the check
        # shows (the summary, the JUnit time, --timeout, the progress) is the time its user waits.
        self.started_at = min(request.started_at or time.time(), time.time())
        self.started = time.monotonic() - (time.time() - self.started_at)

    def run(self) -> int:
        with _Signals() as signals:
            try:
                return self._run()
            except BadInput as exc:
                return self._error(str(exc), EXIT_BAD_INPUT)
            except Interrupted as exc:
                return self._error(f"interrupted ({exc}): stopped everything this run started", EXIT_INCOMPLETE)
            except (Incomplete, ServiceFailed) as exc:
                return self._error(str(exc), EXIT_INCOMPLETE)
            except (RedisError, OSError) as exc:
                where = self.config.redis_location if self.config else "?"
                if unavailable(exc):
                    return self._error(f"cannot reach Redis at {where}: {exc}", EXIT_INCOMPLETE)
                return self._error(f"Redis at {where} answered: {exc}", EXIT_INCOMPLETE)
            finally:
                signals.hold()  # stopping is not interrupted: it is what a second Ctrl-C would ask for
                self._stop()

    def _error(self, message: str, code: int) -> int:
        self.progress.close()
        print(f"error: {message}", file=self.err, flush=True)
        return code

    # -- the run ------------------------------------------------------------------------------------
    def _run(self) -> int:
        if self.request.config:
            self.progress.note(f"options from {self.request.config}")
        seed, options, display = self._target()
        redis_url = self._start_services()
        self.config = Config.from_env({**self.env, "REDIS_URL": redis_url})
        self.client, self.keys = client(self.config.redis_url), Keys.from_config(self.config)
        self.store = CrawlStore(self.client, self.keys, self.config.keep_crawls)
        # Marked as check's: listed apart, and no site (a folder's seed is a temporary loopback server).
        self.crawl_id = self.store.create(seed, options, Origin.CHECK).id
        crawl = self._wait(self.crawl_id)
        report = self._report(crawl, display)
        self._stop()  # before the report: stopping is part of the time the report states
        report.elapsed = time.monotonic() - self.started
        self._write(report)
        return EXIT_OK if report.passed else EXIT_FAILED

    def _target(self) -> tuple[str, CrawlOptions, Display]:
        """The seed, the crawl's options and how reports spell URLs; a folder's server is started."""
        plan, options = self.plan, self.request.options
        site = urlsplit(plan.site_url) if plan.site_url else None
        if plan.folder is not None:
            origin = f"{site.scheme}://{site.netloc}" if site else ""
            self.folder = FolderServer(plan.folder, mount=site.path if site else "/", outside=origin).start()
            seed = self.folder.url
            # The folder is served at the site's path: the whole local origin maps to the production one.
            display = Display(self.folder.origin + "/", origin + "/" if site else "/")
        else:
            assert plan.url is not None
            seed = plan.url
            display = Display(seed, plan.site_url) if plan.site_url else Display()
        if plan.site_url:
            try:
                options = replace(options, remap={plan.site_url: seed}).validate()
            except InvalidOption as exc:
                raise BadInput("--site-url", exc.message) from None
        return seed, options, display

    def _start_services(self) -> str:
        """The Redis URL of the run, its private Redis and local crawlers started when it has them."""
        plan = self.plan
        services = self.services = LocalServices() if not plan.shared or plan.crawlers else None
        env = {**self.env, "SCRAPY_SETTINGS_MODULE": CRAWLER_SETTINGS}
        if plan.folder is not None or self.request.allow_private:
            env["LINKPATROL_ALLOW_PRIVATE"] = "1"
        if self.request.options.render != "never" and not env.get("LINKPATROL_RENDER_PAGES", "").strip():
            env["LINKPATROL_RENDER_PAGES"] = str(RENDER_PAGES)  # the crawlers it starts render
        if plan.shared:
            redis_url = self.env["REDIS_URL"]
            if plan.folder is not None and not plan.crawlers:
                self.progress.warn("the folder is served on 127.0.0.1 of this machine: the shared crawlers reach "
                                   "it only if they run here with LINKPATROL_ALLOW_PRIVATE=1 (--crawlers N starts "
                                   "local ones)")
            if plan.crawlers:
                assert services is not None
                services.start_crawlers(plan.crawlers, env)
        else:
            assert services is not None
            redis_url = services.start(plan.crawlers, env)  # the crawlers start while Redis does
        if plan.crawlers:
            self.progress.note(f"started {plan.crawlers} crawler process{'es' if plan.crawlers > 1 else ''} on "
                               f"{'the shared' if plan.shared else 'a private'} Redis")
        return redis_url

    def _wait(self, crawl_id: str) -> Crawl:
        assert self.store is not None
        store, fail_on = self.store, self.request.fail_on
        timeout = self.request.timeout
        reported_exits: set[int] = set()
        asked_for_crawlers = False
        redis_away = False
        waiting_since = time.monotonic()
        while True:
            try:
                crawl = store.require(crawl_id)
                found = self._found(crawl_id)
            except (RedisError, OSError) as exc:
                # Busy with another client's script, loading its data, failing over: wait like the
                # crawlers do (--timeout still applies); any other error is reported by run().
                if not unavailable(exc):
                    raise
                if not redis_away:
                    self.progress.warn(f"Redis cannot serve us now ({exc}); waiting for it")
                    redis_away = True
                if timeout is not None and time.monotonic() - self.started > timeout:
                    raise Incomplete(f"--timeout: the crawl did not end within {durations.describe(timeout)}") from None
                time.sleep(POLL)
                continue
            redis_away = False
            self.progress.update(Snapshot(
                pages=crawl.pages_crawled, checked=crawl.links_checked, found=found,
                problems=sum(crawl.outcome_count(o) for o in fail_on), elapsed=time.monotonic() - self.started))
            if not crawl.is_active:
                break
            self._watch_crawlers(reported_exits)
            waiting = crawl.state == CrawlState.QUEUED and time.monotonic() - self.started > NO_CRAWLER_NOTE
            if self.plan.shared and waiting and not asked_for_crawlers and not store.crawlers():
                asked_for_crawlers = True
                self.progress.warn(f"no crawler is running on {self.config.redis_location if self.config else ''}: "
                                   "the crawl waits for one (see --timeout)")
            if timeout is not None and time.monotonic() - self.started > timeout:
                raise Incomplete(f"--timeout: the crawl did not end within {durations.describe(timeout)} "
                                 f"({crawl.links_checked:,} links checked so far)")
            time.sleep(QUICK_POLL if time.monotonic() - waiting_since < QUICK_POLLS else POLL)
        self.progress.close()
        if crawl.state == CrawlState.CANCELLED:
            raise Incomplete(f"the crawl {crawl.id} was cancelled")
        return crawl

    def _found(self, crawl_id: str) -> int:
        """Links found so far, checked or waiting: the crawl's url hash."""
        assert self.keys is not None
        return int(self.client.hlen(self.keys.urls(crawl_id)))

    def _watch_crawlers(self, reported: set[int]) -> None:
        if self.services is None or not self.services.crawlers:
            return
        exited = self.services.exited_crawlers()
        for number, code in exited:
            if number not in reported:
                reported.add(number)
                self.progress.warn(f"crawler {number} exited with code {code}:\n{self.services.log_tail(number)}")
        if len(exited) == len(self.services.crawlers) and not self.plan.shared:
            raise Incomplete("every crawler process exited; the last lines of their logs are above")

    # -- the result ---------------------------------------------------------------------------------
    def _report(self, crawl: Crawl, display: Display) -> Report:
        assert self.store is not None
        store = self.store
        seed = store.result(crawl.id, crawl.url)
        if seed is not None and seed.outcome == Outcome.EXCLUDED:  # nothing was checked: no pass
            raise Incomplete(f"the start page {display.url(crawl.url)} was not fetched: {seed.error}"
                             f"{SEED_HINTS.get(seed.error or '', '')}")
        if seed is not None and not crawl.pages_crawled and (why := unreachable(seed)):
            raise Incomplete(f"cannot reach {display.url(crawl.url)}: {why}; nothing was checked")
        # The links accepted for the site (--site-url, else the URL checked) are listed apart, never failing.
        kept, accepted = AcceptedLinks(store).in_crawl(crawl).split(store.problems(crawl.id, PROBLEM_OUTCOMES))
        problems = [display.result(r) for r in kept]
        results = [display.result(r) for r in store.iter_results(crawl.id)] if self.request.fmt == "junit" else []
        shown = display.crawl(crawl)
        if self.plan.folder is not None and not self.plan.site_url:
            shown = replace(shown, url=str(self.plan.folder))
        return Report(shown, problems, self.request.fail_on, sorted(results, key=lambda r: r.url),
                      group_by=self.request.group_by, started_at=self.started_at,
                      accepted=[display.result(r) for r in accepted])

    def _write(self, report: Report) -> None:
        text = render(report, self.request.fmt)
        if self.request.output is not None:
            Path(self.request.output).write_text(text, encoding="utf-8")
            self.out.write(summary(report))
        else:
            self.out.write(text)
            if self.request.fmt != "text":
                self.err.write(summary(report))
        self.out.flush()

    # -- stopping -----------------------------------------------------------------------------------
    def _stop(self) -> None:
        """Everything this run started stopped; a second call does nothing."""
        self.progress.close()
        if self.store is not None:
            with contextlib.suppress(RedisError, OSError):  # Redis away: nothing to cancel there either
                if self.plan.shared and self.crawl_id and self.store.require(self.crawl_id).is_active:
                    self.store.cancel(self.crawl_id)  # the shared crawlers need not finish what nobody reads
            self.store.close()
            self.store = None
        if self.services is not None:
            self.services.stop()
            self.services = None
        if self.folder is not None:
            self.folder.stop()
            self.folder = None


def unreachable(seed: LinkResult) -> str:
    """Why the start page says the site cannot be reached at all, in words ("" when it can): no HTTP
    answer (a refused connection, an unknown host, a timeout...), or an answer that refuses us."""
    after = f" (after {len(seed.redirects)} redirect{'s' if len(seed.redirects) > 1 else ''})" if seed.redirects else ""
    if seed.outcome == Outcome.DEAD and seed.status is None:
        kind = next((k for k in ErrorKind if k == seed.error), None)
        return (kind.message if kind else seed.error or "no answer") + after
    if seed.outcome == Outcome.BLOCKED:
        return f"it answered HTTP {seed.status}{after}: the server refuses us"
    if seed.outcome == Outcome.RATE_LIMITED:
        return f"it answered HTTP {seed.status}{after}: the server asked us to slow down until we gave up"
    return ""
