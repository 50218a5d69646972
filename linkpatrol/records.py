"""The crawl record and its options, with the validation every way of starting a crawl shares
(the form, the JSON API, the command line and a JSON start message in Redis)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from linkpatrol.rules import AcceptRule, compile_patterns, remap_prefix, site_host
from linkpatrol.verdicts import STATUS_CLASSES, CheckMethod, ErrorKind, Outcome

MAX_NOTIFY = 10
MAX_LIMIT = 1_000_000
MAX_SITE_CONCURRENCY = 1000
MAX_SITE_RATE = 10_000
MAX_PATTERNS, MAX_PATTERN_LENGTH = 50, 500  # exclude (their compiled size: rules.MAX_PATTERN_PROGRAM)
MAX_SAME_SITE = 50
MAX_ACCEPT = 50
MAX_HEADERS, MAX_HEADER_NAME, MAX_HEADER_VALUE = 20, 100, 4096
MAX_PAGE_SIZE = 1024  # megabytes
MAX_REMAP = 10
MAX_WEBHOOKS, MAX_WEBHOOK_URL, MAX_WEBHOOK_SECRET = 5, 2000, 256
# When the end-of-crawl mail and webhooks go out (``linkpatrol.events.skip_reason``): every time, only when
# the crawl found problems, or only when something is new or fixed since the site's previous finished crawl.
NOTIFY_WHEN = ("always", "problems", "changes")
REMAP_SHAPE = 'must be an object of URL prefixes: {"https://example.org/docs/": "http://127.0.0.1:8000/"}'
# The option names of the API, the form and a JSON start message.
OPTION_FIELDS = ("max_pages", "max_depth", "respect_robots", "check_external", "notify", "site_concurrency",
                 "site_rate", "exclude", "same_site", "subdomains", "accept", "headers", "head_first",
                 "max_page_size", "remap", "check_fragments", "sitemaps", "notify_when", "webhooks",
                 "webhook_secret", "max_duration")
FRAGMENT_MODES = ("site", "all", "none")
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 7230 token
# Headers that frame the message or concern one hop: the HTTP client owns them.
FORBIDDEN_HEADERS = frozenset({
    "host", "content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection", "te",
    "trailer", "upgrade", "expect", "proxy-authorization", "proxy-authenticate",
})
EMAIL = re.compile(r"^[^@\s,;<>\"']{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")

COUNTERS = (
    "pages_crawled",
    "links_checked",
    "broken",
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
)
# Record fields that say why a crawl stopped early or held urls back (written by the frontier's
# scripts): "1" flags, the first page over the link cap, that cap, the first trap's prefix and kind.
LIMIT_FIELDS = ("limit_pages", "limit_depth", "limit_duration", "links_over_cap_page", "link_cap", "trap_under",
                "trap_kind", "max_pages", "max_depth", "max_duration")
TRAP_KINDS = {
    "repeat": "a path segment repeating",
    "query": "a query growing without end",
    "ids": "the same page under ever new numbers",
}
MAX_DURATION = 30 * 24 * 3600  # seconds


class Origin(StrEnum):
    """What made a crawl (the record's ``origin``; older records have none). Crawls of ``linkpatrol
    check`` are listed apart from the sites' crawls and are no site's history (``store.write_record``)."""

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
    # The crawl's rules (``linkpatrol.rules``): what is left alone, what is the site, what is alive.
    exclude: list[str] = field(default_factory=list)  # regular expressions (RE2) searched in each URL
    same_site: list[str] = field(default_factory=list)  # more hosts of the site (host[:port])
    subdomains: bool = False  # subdomains of the seed's domain are the site too
    accept: list[str] = field(default_factory=list)  # "403", "200-299", "403@github.com"
    # Request headers for the crawled site. Secrets: never in the record's options, a page, an export,
    # a mail or a log; only ``header_names`` are (the values live in ``Keys.crawl_headers``).
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    header_names: list[str] = field(default_factory=list)
    head_first: bool = False  # check links that are not parsed with HEAD first (GET when refused)
    # Which #fragments are checked against the target page's ids: "site" (pages of the crawled
    # site), "all" (other hosts' HTML pages too, read to the end within the size cap) or "none".
    check_fragments: str = "site"
    # Read robots.txt's Sitemap: lines (else /sitemap.xml): every url listed is checked, and alive
    # pages listed there that no crawled page links to are reported as orphans.
    sitemaps: bool = True
    max_page_size: int | None = None  # megabytes of an in-scope page read and parsed; None: the crawler's
    # URL prefix -> URL prefix: a found link starting with a key is checked at the value instead (a
    # production address mapped to the copy being checked: ``linkpatrol check DIR --site-url``).
    # Not on the web form: the API, a start message and the command line.
    remap: dict[str, str] = field(default_factory=dict)
    notify_when: str = "always"  # NOTIFY_WHEN
    # Seconds a crawl may run; then it stops (its queue dropped, what it found kept). None: the
    # crawlers' default (LINKPATROL_MAX_DURATION), written into the record when the crawl starts.
    max_duration: int | None = None
    # http(s) URLs POSTed a JSON summary when the crawl ends (``linkpatrol.webhooks``), signed with
    # ``webhook_secret`` when one is given. Receivers put tokens in their URLs (Slack in the path, others
    # in the query): the URLs are stored in the record (``to_json``) but never shown (``to_dict``:
    # pages, API, exports); ``webhook_targets`` is what is shown (no user, query or fragment). The secret
    # is kept like ``headers``, out of the record (``Keys.crawl_secrets``); ``webhook_signed`` says
    # whether there is one.
    webhooks: list[str] = field(default_factory=list, repr=False)
    webhook_secret: str = field(default="", repr=False)
    webhook_targets: list[str] = field(default_factory=list)
    webhook_signed: bool = False

    def __post_init__(self) -> None:
        if self.headers:
            self.header_names = list(self.headers)
        if self.webhook_secret:
            self.webhook_signed = True
        if self.webhooks:
            self.webhook_targets = [webhook_target(u) for u in self.webhooks]

    def with_headers(self, headers: Mapping[str, str]) -> CrawlOptions:
        """These options with ``headers`` as their request headers (a re-run's, read from the store)."""
        return replace(self, headers=dict(headers), header_names=list(headers))

    def with_webhook_secret(self, secret: str) -> CrawlOptions:
        """These options with ``secret`` signing their webhooks (a re-run's, read from the store)."""
        return replace(self, webhook_secret=secret, webhook_signed=bool(secret))

    def validate(self) -> CrawlOptions:
        """Check every option (InvalidOption names the field) and spell host names and accept entries
        the one way the rules compare them."""
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
        if self.check_fragments not in FRAGMENT_MODES:
            raise InvalidOption("check_fragments", f"must be one of {', '.join(FRAGMENT_MODES)}")
        if self.max_page_size is not None and (
            not isinstance(self.max_page_size, int) or isinstance(self.max_page_size, bool)
            or not 1 <= self.max_page_size <= MAX_PAGE_SIZE
        ):
            raise InvalidOption("max_page_size", f"must be a whole number of megabytes from 1 to {MAX_PAGE_SIZE}")
        self._validate_rules()
        _check_headers(self.headers)
        if self.headers:
            self.header_names = list(self.headers)
        if self.notify_when not in NOTIFY_WHEN:
            raise InvalidOption("notify_when", f"must be one of {', '.join(NOTIFY_WHEN)}")
        self.webhooks = _check_webhooks(self.webhooks)
        self.webhook_targets = [webhook_target(u) for u in self.webhooks]
        _check_webhook_secret(self.webhook_secret)
        self.webhook_signed = bool(self.webhook_secret)
        return self

    def _validate_rules(self) -> None:
        if len(self.exclude) > MAX_PATTERNS:
            raise InvalidOption("exclude", f"at most {MAX_PATTERNS} patterns")
        for pattern in self.exclude:
            if len(pattern) > MAX_PATTERN_LENGTH:
                raise InvalidOption("exclude", f"{pattern[:40]!r}... is longer than {MAX_PATTERN_LENGTH} characters")
        try:
            compile_patterns(self.exclude)  # RE2's grammar, and their compiled size together
        except ValueError as exc:
            raise InvalidOption("exclude", str(exc)) from None
        if len(self.same_site) > MAX_SAME_SITE:
            raise InvalidOption("same_site", f"at most {MAX_SAME_SITE} hosts")
        self.same_site = list(dict.fromkeys(_entry("same_site", h, site_host) for h in self.same_site))
        if len(self.accept) > MAX_ACCEPT:
            raise InvalidOption("accept", f"at most {MAX_ACCEPT} entries")
        self.accept = list(dict.fromkeys(str(_entry("accept", str(a), AcceptRule.parse)) for a in self.accept))
        if not isinstance(self.remap, Mapping):
            raise InvalidOption("remap", REMAP_SHAPE)
        if len(self.remap) > MAX_REMAP:
            raise InvalidOption("remap", f"at most {MAX_REMAP} prefixes")
        remap: dict[str, str] = {}
        for source, target in self.remap.items():
            if not isinstance(source, str) or not isinstance(target, str):
                raise InvalidOption("remap", "prefixes must be strings")
            remap[_entry("remap", source, remap_prefix)] = _entry("remap", target, remap_prefix)
        self.remap = remap

    def to_dict(self) -> dict[str, Any]:
        """The options as shown everywhere (pages, API, exports): header names, never values; webhook
        targets, never the URLs or their secret."""
        data = asdict(self)
        del data["headers"], data["webhook_secret"], data["webhooks"]
        return data

    def to_json(self) -> str:
        """The options as the record stores them: ``to_dict`` and the webhook URLs."""
        return json.dumps({**self.to_dict(), "webhooks": list(self.webhooks)})

    def to_input(self) -> dict[str, Any]:
        """The options as ``parse_options`` takes them, header values included: a start message's
        shape. Secrets: never store or show this."""
        data = self.to_dict()
        del data["header_names"], data["webhook_signed"], data["webhook_targets"]
        return {**data, "headers": dict(self.headers), "webhooks": list(self.webhooks),
                "webhook_secret": self.webhook_secret}

    @classmethod
    def from_json(cls, raw: str | None) -> CrawlOptions:
        data = json.loads(raw) if raw else {}
        return cls(**{k: v for k, v in data.items()
                      if k in cls.__dataclass_fields__ and k not in ("headers", "webhook_secret")})


def _entry(name: str, value: str, parse: Callable[[str], Any]) -> Any:
    try:
        return parse(value)
    except ValueError as exc:
        raise InvalidOption(name, str(exc)) from None


def _check_headers(headers: Mapping[str, str]) -> None:
    """Names and values of request headers; a message never repeats a value (they are secrets)."""
    if len(headers) > MAX_HEADERS:
        raise InvalidOption("headers", f"at most {MAX_HEADERS} headers")
    seen: set[str] = set()
    for number, (name, value) in enumerate(headers.items(), 1):
        if not isinstance(name, str) or not HEADER_NAME.fullmatch(name) or len(name) > MAX_HEADER_NAME:
            raise InvalidOption("headers", f"header {number} has no valid name (letters, digits and "
                                           f"!#$%&'*+-.^_`|~, at most {MAX_HEADER_NAME} characters)")
        if name.lower() in FORBIDDEN_HEADERS:
            raise InvalidOption("headers", f"{name} is set by the HTTP client itself and cannot be given")
        if name.lower() in seen:
            raise InvalidOption("headers", f"{name} is given twice")
        seen.add(name.lower())
        if not isinstance(value, str):
            raise InvalidOption("headers", f"the value of {name} must be a string")
        if "\r" in value or "\n" in value:
            raise InvalidOption("headers", f"the value of {name} must not contain a line break")
        if not value.strip():
            raise InvalidOption("headers", f"{name} needs a value")
        if len(value) > MAX_HEADER_VALUE:
            raise InvalidOption("headers", f"the value of {name} is longer than {MAX_HEADER_VALUE} characters")
        if any(not (" " <= c <= "~" or c == "\t") for c in value):
            raise InvalidOption("headers", f"the value of {name} may hold printable ASCII characters only")


def webhook_target(url: str) -> str:
    """A webhook URL as pages, the API and logs show it: no user name, password, query string or
    fragment (where receivers tend to put their tokens)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return "(invalid URL)"
    if ":" in host:
        host = f"[{host}]"
    return urlunsplit((parts.scheme, f"{host}:{port}" if port else host, parts.path, "", ""))


def _check_webhooks(urls: list[str]) -> list[str]:
    """Webhook URLs: http or https, a host, no user name or password. The address policy is applied
    by who knows it (``linkpatrol.webhooks.refused``: the web app, the command line) and again, after
    resolving, when each webhook is sent."""
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise InvalidOption("webhooks", "must be a list of http(s) URLs")
    if len(urls) > MAX_WEBHOOKS:
        raise InvalidOption("webhooks", f"at most {MAX_WEBHOOKS} URLs")
    out: list[str] = []
    for url in (u.strip() for u in urls):
        shown = url[:80]
        if len(url) > MAX_WEBHOOK_URL:
            raise InvalidOption("webhooks", f"a URL has at most {MAX_WEBHOOK_URL} characters")
        if any(c.isspace() or not c.isprintable() for c in url):
            raise InvalidOption("webhooks", f"{shown!r} holds spaces or control characters")
        try:
            parts = urlsplit(url)
            host, port = parts.hostname, parts.port
        except ValueError:
            raise InvalidOption("webhooks", f"{shown!r} is not a URL") from None
        if parts.scheme not in ("http", "https") or not host:
            raise InvalidOption("webhooks", f"{shown!r} is not an http or https URL")
        if parts.username is not None or parts.password is not None:
            raise InvalidOption("webhooks", f"{parts.scheme}://{host}: a user name or password in the URL is "
                                            "not accepted; use webhook_secret to sign the requests")
        if port == 0:
            raise InvalidOption("webhooks", f"{shown!r} has no valid port")
        if url not in out:
            out.append(url)
    return out


def _check_webhook_secret(secret: str) -> None:
    """The message never repeats the secret."""
    if not isinstance(secret, str):
        raise InvalidOption("webhook_secret", "must be a string")
    if len(secret) > MAX_WEBHOOK_SECRET:
        raise InvalidOption("webhook_secret", f"has at most {MAX_WEBHOOK_SECRET} characters")
    if any(not (" " <= c <= "~") for c in secret):
        raise InvalidOption("webhook_secret", "may hold printable ASCII characters only")


# -- parsing what a person or a client sent -----------------------------------------------------------
def _whole(name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidOption(name, "must be a whole number")
    if isinstance(value, str):
        value = value.strip()
        # ASCII digits only ("²".isdigit() is true, int() refuses it), and a length check before
        # int(): Python refuses to convert more than 4,300 digits.
        if not (value.isascii() and value.isdigit()):
            raise InvalidOption(name, "must be a whole number, 0 or more")
        value = value.lstrip("0") or "0"
        if len(value) > len(str(MAX_LIMIT)):
            raise InvalidOption(name, f"must be at most {MAX_LIMIT:,}")
        value = int(value)
    if not isinstance(value, int) or value < 0:
        raise InvalidOption(name, "must be a whole number, 0 or more")
    if value > MAX_LIMIT:
        raise InvalidOption(name, f"must be at most {MAX_LIMIT:,}")
    return value


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DURATION = re.compile(r"(\d{1,7})\s*([smhd]?)", re.I)


def parse_duration(name: str, value: Any) -> int | None:
    """Seconds, as a number or a text such as "90", "45m", "2h", "1d"."""
    if value is None or value == "":
        return None
    shape = 'must be a duration: seconds, or a number with s, m, h or d ("2h")'
    if isinstance(value, bool):
        raise InvalidOption(name, shape)
    if isinstance(value, str):
        found = DURATION.fullmatch(value.strip()) if value.isascii() else None
        if found is None:
            raise InvalidOption(name, shape)
        value = int(found.group(1)) * DURATION_UNITS[(found.group(2) or "s").lower()]
    if not isinstance(value, int) or value < 1:
        raise InvalidOption(name, shape)
    if value > MAX_DURATION:
        raise InvalidOption(name, f"must be at most {MAX_DURATION // 86400} days")
    return value


def duration_text(seconds: int) -> str:
    """2h, 45m, 90s: how a duration is shown."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


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


def _entries(name: str, value: Any, form: bool, what: str, *, lines_only: bool = False) -> list[str]:
    """A list option: a JSON list of strings (numbers too, for ``accept``), or in a form one text with
    an entry a line (``lines_only``: a pattern may hold commas and spaces) or separated by commas."""
    if value is None or (form and value == ""):
        return []
    if form and isinstance(value, str):
        items: Any = value.splitlines() if lines_only else re.split(r"[\s,]+", value)
    else:
        items = value
    if not isinstance(items, list) or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in items):
        raise InvalidOption(name, f"must be a list of {what}")
    return list(dict.fromkeys(str(v).strip() for v in items if str(v).strip()))


def _headers(value: Any, form: bool) -> dict[str, str]:
    """Request headers: a JSON object of names and values, or "Name: value" lines (a form's text, the
    command line's repeated --header). Checked by ``_check_headers``; no message repeats a value."""
    if value is None or (form and value == ""):
        return {}
    if form and isinstance(value, str):
        value = value.splitlines()
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        pairs = []
        for number, line in enumerate(value, 1):
            name, colon, val = line.partition(":")
            if line.strip() and not colon:
                raise InvalidOption("headers", f'line {number} is not "Name: value"')
            if line.strip():
                pairs.append((name.strip(), val))
    else:
        raise InvalidOption("headers", 'must be an object of header names and values (or "Name: value" lines)')
    headers: dict[str, str] = {}
    for number, (name, val) in enumerate(pairs, 1):
        if not isinstance(val, str):
            raise InvalidOption("headers", f"the value of header {number} must be a string")
        if name in headers:
            raise InvalidOption("headers", f"header {number} is given twice")
        headers[name] = val.strip(" \t")
    return headers


def _choice(name: str, value: Any, choices: tuple[str, ...], default: str) -> str:
    if value is None or value == "":
        return default
    if not isinstance(value, str) or value.strip().lower() not in choices:
        raise InvalidOption(name, f"must be one of {', '.join(choices)}")
    return value.strip().lower()


def _secret(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidOption("webhook_secret", "must be a string")
    return value.strip()


def _remap(value: Any) -> dict[str, str]:
    """URL prefix -> URL prefix, a JSON object (checked by ``CrawlOptions.validate``); no form sends it."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidOption("remap", REMAP_SHAPE)
    return dict(value)


def parse_options(data: Mapping[str, Any], *, form: bool = False) -> CrawlOptions:
    """Crawl options from a JSON object or a form. Raises InvalidOption naming the field, also for
    an unknown one. A form sends unchecked checkboxes as absent: absent means false there."""
    if not form:
        unknown = sorted(set(data) - set(OPTION_FIELDS))
        if unknown:
            raise InvalidOption(unknown[0], "is not a crawl option")

    def flag(name: str, default: bool) -> bool:
        return _flag(name, data.get(name, "" if form else None), default)

    return CrawlOptions(
        max_pages=_whole("max_pages", data.get("max_pages")),
        max_depth=_whole("max_depth", data.get("max_depth")),
        respect_robots=flag("respect_robots", True),
        check_external=flag("check_external", True),
        notify=_emails(data.get("notify"), form),
        site_concurrency=_whole("site_concurrency", data.get("site_concurrency")),
        site_rate=_rate("site_rate", data.get("site_rate")),
        exclude=_entries("exclude", data.get("exclude"), form, "regular expressions", lines_only=True),
        same_site=_entries("same_site", data.get("same_site"), form, "host names"),
        subdomains=flag("subdomains", False),
        accept=_entries("accept", data.get("accept"), form, "status codes or ranges"),
        headers=_headers(data.get("headers"), form),
        head_first=flag("head_first", False),
        sitemaps=flag("sitemaps", True),
        check_fragments=_choice("check_fragments", data.get("check_fragments"), FRAGMENT_MODES, "site"),
        max_page_size=_whole("max_page_size", data.get("max_page_size")),
        remap=_remap(data.get("remap")),
        notify_when=_choice("notify_when", data.get("notify_when"), NOTIFY_WHEN, "always"),
        max_duration=parse_duration("max_duration", data.get("max_duration")),
        webhooks=_entries("webhooks", data.get("webhooks"), form, "http(s) URLs", lines_only=True),
        webhook_secret=_secret(data.get("webhook_secret")),
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
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "state": self.state,
            "origin": self.origin or None,
            "options": self.options.to_dict(),
            "pages_crawled": self.pages_crawled,
            "links_checked": self.links_checked,
            "broken": self.broken,
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
