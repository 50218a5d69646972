"""Verdicts: what checking a link found, as types with their meaning and their words for people.

A result is an HTTP status or a named failure (``ErrorKind``), never a made-up status code, and has
one ``Outcome``. The values are the strings stored in Redis since the first version, so nothing
stored changes. Every page, mail, export and command line reads labels and groupings from here, so
they cannot disagree:

- ``ok``: 2xx after redirects (or a status the crawl's ``accept`` rule takes as alive);
- ``warning``: alive, but not all of it could be read: a page larger than the crawl's size cap
  (``too-large``; the part that arrived is still parsed);
- ``missing_anchor``: ``page.html#install`` where the page is alive but has no element with
  ``id="install"`` (or ``<a name="install">``): a broken link for the reader (the row's url is
  the page with its fragment);
- ``dead``: 4xx except the ones below, 5xx, 1xx and 3xx without a usable Location, and every failure
  kind that says the target is not there (dns, refused, timeout, tls...) or that a visitor cannot reach
  it (``redirect-unsupported``: a redirect to file:, data:, javascript:...);
- ``blocked``: 401, 403 and 999 (answers that say "not you", not "not here");
- ``rate_limited``: 429, or 503 with a Retry-After, still there after the bounded retries;
- ``excluded``: not fetched on purpose (robots.txt, an address the operator does not allow, the
  crawl's ``exclude`` patterns);
- ``unsupported``: a scheme this checker does not fetch (ftp:, file:...).

A report calls everything but ``ok``, ``dead`` and ``missing_anchor`` "other" (``OTHER_OUTCOMES``).
``dead`` and ``missing_anchor`` fail a check (``Outcome.fails_check``, ``FAILING``): a count named
``dead`` counts dead links only.

Every result also says how it was decided (``CheckMethod``): a GET, a HEAD (with or without the GET
that followed a refused HEAD), a verdict on the whole host (its name does not resolve, its port
refuses connections: the crawl's other links to it are decided without requests), or no request.
"""

from __future__ import annotations

from enum import StrEnum

BLOCKED_STATUSES = frozenset({401, 403, 999})
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx", "error")


class Outcome(StrEnum):
    OK = "ok"
    WARNING = "warning"
    DEAD = "dead"
    MISSING_ANCHOR = "missing_anchor"
    BLOCKED = "blocked"
    RATE_LIMITED = "rate_limited"
    EXCLUDED = "excluded"
    UNSUPPORTED = "unsupported"

    @property
    def label(self) -> str:
        return _OUTCOME_TEXT[self][0]

    @property
    def meaning(self) -> str:
        return _OUTCOME_TEXT[self][1]

    @property
    def is_problem(self) -> bool:
        """Listed in the crawl's problem set and in reports (everything but ok)."""
        return self is not Outcome.OK

    @property
    def is_other(self) -> bool:
        """Neither alive nor dead: the report's "other" view and the mail's "other" line."""
        return self in OTHER_OUTCOMES

    @property
    def fails_check(self) -> bool:
        """What fails a check, the one definition: the link does not take a reader where it says
        (dead, or a missing anchor). The mail's list and subject, the webhook's text, ``notify_when``
        and the diff's new and fixed counts all read it (``FAILING``); ``dead`` alone counts ``DEAD``."""
        return self in (Outcome.DEAD, Outcome.MISSING_ANCHOR)


_OUTCOME_TEXT = {
    Outcome.OK: ("OK", "answered with a success status (2xx), after redirects"),
    Outcome.WARNING: ("Warning", "alive, but larger than the crawl's size cap: only the first part was read; or "
                                 "a page that needs JavaScript read without it"),
    Outcome.DEAD: ("Dead", "not there: an error status or a failure such as an unknown host or a timeout"),
    Outcome.MISSING_ANCHOR: ("Missing anchor", "the page is there, but not the part the link points at: no "
                                               "element has the id (or <a name>) its #fragment names"),
    Outcome.BLOCKED: ("Blocked", "the server refused us (401, 403, 999): a visitor may well see it"),
    Outcome.RATE_LIMITED: ("Rate-limited", "the server asked us to slow down (429, 503 with Retry-After) "
                                           "until we gave up"),
    Outcome.EXCLUDED: ("Excluded", "not fetched on purpose: robots.txt, or an address this server does not check"),
    Outcome.UNSUPPORTED: ("Unsupported", "a scheme linkpatrol does not fetch (ftp:, file:...)"),
}
OTHER_OUTCOMES: tuple[Outcome, ...] = (Outcome.WARNING, Outcome.BLOCKED, Outcome.RATE_LIMITED, Outcome.EXCLUDED,
                                       Outcome.UNSUPPORTED)
OTHER_LABEL = "Warnings, blocked, rate-limited or not checked"
PROBLEM_OUTCOMES: tuple[Outcome, ...] = tuple(o for o in Outcome if o.is_problem)
FAILING: tuple[Outcome, ...] = tuple(o for o in Outcome if o.fails_check)


# How results stored before one spelling per outcome name a missing anchor's error (read, never written).
LEGACY_MISSING_ANCHOR = "missing-anchor"


class ErrorKind(StrEnum):
    """A failure that left no HTTP status to report. The value is what reports and exports show."""

    DNS = "dns"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    TLS = "tls"
    CONNECTION_RESET = "connection-reset"
    INCOMPLETE_RESPONSE = "incomplete-response"
    TOO_LARGE = "too-large"
    CONNECTION_FAILED = "connection-failed"
    TOO_MANY_REDIRECTS = "too-many-redirects"
    REDIRECT_LOOP = "redirect-loop"
    REDIRECT_UNSUPPORTED = "redirect-unsupported"
    ADDRESS_NOT_ALLOWED = "address-not-allowed"
    ROBOTS = "robots"
    EXCLUDED_BY_RULE = "excluded-by-rule"
    MISSING_ANCHOR = "missing_anchor"  # spelt as its outcome; "missing-anchor" (before) is read as it
    INVALID_URL = "invalid-url"
    UNSUPPORTED_SCHEME = "unsupported-scheme"
    NOT_RENDERED = "not-rendered"

    @classmethod
    def _missing_(cls, value: object) -> ErrorKind | None:
        return cls.MISSING_ANCHOR if value == LEGACY_MISSING_ANCHOR else None

    @property
    def message(self) -> str:
        return _ERROR_TEXT[self]

    @property
    def outcome(self) -> Outcome:
        """The outcome of a link that failed this way."""
        if self in (ErrorKind.ROBOTS, ErrorKind.ADDRESS_NOT_ALLOWED, ErrorKind.EXCLUDED_BY_RULE):
            return Outcome.EXCLUDED
        if self in (ErrorKind.TOO_LARGE, ErrorKind.NOT_RENDERED):
            return Outcome.WARNING
        if self is ErrorKind.MISSING_ANCHOR:
            return Outcome.MISSING_ANCHOR
        if self is ErrorKind.UNSUPPORTED_SCHEME:
            return Outcome.UNSUPPORTED
        return Outcome.DEAD


_ERROR_TEXT = {
    ErrorKind.DNS: "the host name does not resolve",
    ErrorKind.REFUSED: "the server refused the connection",
    ErrorKind.TIMEOUT: "no answer in time",
    ErrorKind.TLS: "the TLS handshake failed or the certificate is not valid",
    ErrorKind.CONNECTION_RESET: "the connection was closed before an answer",
    ErrorKind.INCOMPLETE_RESPONSE: "the answer was cut short",
    ErrorKind.TOO_LARGE: "the answer is larger than the crawl's size cap (counted after decompression): a plain "
                         "page is parsed as far as the cap, a compressed one is not read further",
    ErrorKind.CONNECTION_FAILED: "the connection failed",
    ErrorKind.TOO_MANY_REDIRECTS: "more redirects than a browser follows",
    ErrorKind.REDIRECT_LOOP: "the redirects lead back to a URL already visited",
    ErrorKind.REDIRECT_UNSUPPORTED: "a redirect to a URL a browser does not open from a web page (file:, data:, "
                                    "javascript:, gopher:...)",
    ErrorKind.ADDRESS_NOT_ALLOWED: "the host is on a private or local network, which this server does not check",
    ErrorKind.ROBOTS: "robots.txt forbids the check",
    ErrorKind.EXCLUDED_BY_RULE: "the crawl's exclude patterns match it: neither checked nor followed",
    ErrorKind.MISSING_ANCHOR: "the page has no element with the id (or <a name>) the fragment names",
    ErrorKind.INVALID_URL: "the URL is malformed",
    ErrorKind.UNSUPPORTED_SCHEME: "linkpatrol checks only http and https URLs",
    ErrorKind.NOT_RENDERED: "the page needs JavaScript (the crawl renders pages) but no crawler could render it, "
                            "or rendering failed: its links were read from the HTML as it was sent",
}


class CheckMethod(StrEnum):
    """How a result was decided (counted in the crawl record as ``checked_<value>``)."""

    GET = "get"  # a GET: the page parsed, or headers and the first bytes of anything else
    HEAD = "head"  # a HEAD was believed (the crawl's head_first option)
    HEAD_GET = "head_get"  # a HEAD was refused or mishandled, then a GET decided
    HOST = "host"  # the host's name does not resolve or its port refuses: decided without a request
    NOT_MODIFIED = "not_modified"  # a page asked for if changed answered 304: its kept links reused
    CACHE = "cache"  # a link to another site found ok by a recent crawl (the shared link cache): no request
    RENDER = "render"  # the page was loaded in a headless browser (the crawl's render option)
    NONE = "none"  # no request at all: invalid URL, unsupported scheme, excluded by a rule


def outcome_for_status(status: int, retry_after: bool = False) -> Outcome:
    """The outcome of a final HTTP status (``retry_after``: the answer carried a Retry-After header)."""
    if 200 <= status < 300:
        return Outcome.OK
    if status in BLOCKED_STATUSES:
        return Outcome.BLOCKED
    if status == 429 or (status == 503 and retry_after):
        return Outcome.RATE_LIMITED
    return Outcome.DEAD


def status_class(status: int | None) -> str:
    """``2xx``, ``3xx``, ``4xx``, ``5xx`` (anything else a server may send, 1xx included) or ``error``
    (no status: a failure). The crawl's counters and the reports' filters both use this."""
    if status is None:
        return "error"
    if 200 <= status < 300:
        return "2xx"
    if 300 <= status < 400:
        return "3xx"
    if 400 <= status < 500:
        return "4xx"
    return "5xx"


def describe(status: int | None, error: str | None, outcome: str) -> str:
    """A short text for one result: ``HTTP 404``, or the failure kind, or the outcome."""
    if status is not None:
        return f"HTTP {status}"
    return error or outcome
