"""Building the report mail: addresses validated, plain text and HTML, everything crawled escaped.

No Flask and no Redis here: callers pass the crawl and its failing links in (dead links, missing
anchors). The bodies are Jinja templates (``templates/mail/*.txt``, ``*.html``) rendered by an
environment of this module's own, so an RQ job needs no app. HTML templates are autoescaped; every
value printed in any template is first stripped of control characters (``_finalize``), so a crawled
page cannot add lines or headers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

from linkpatrol import durations
from linkpatrol.model.email_address import CONTROL, InvalidAddress  # noqa: F401  (InvalidAddress: for the mail jobs and views)
from linkpatrol.model.email_address import validate as validate_address
from linkpatrol.model.email_address import validate_all as validate_addresses  # noqa: F401
from linkpatrol.model.records import Crawl, CrawlState
from linkpatrol.model.verdicts import FAILING, OTHER_LABEL, Outcome, describe
from linkpatrol.model.wire import LinkResult
from linkpatrol.reports import results
from linkpatrol.reports.accepted import InCrawl
from linkpatrol.reports.diff import CrawlDiff
from linkpatrol.reports.results import to_report

TEMPLATES = Path(__file__).resolve().parent / "templates"
ENDED: dict[str, str] = {CrawlState.CANCELLED: "was cancelled", CrawlState.FINISHED: "finished"}


@dataclass(frozen=True)
class ReportLinks:
    """Where the full report lives; ``report_url`` is what the web app's reports blueprint serves."""

    base_url: str

    def report_url(self, crawl_id: str) -> str:
        return f"{self.base_url}/crawls/{crawl_id}"


# -- the templates ------------------------------------------------------------------------------------
def _plain(value: object) -> str:
    """Text from a crawled page, made safe for one line of a plain-text mail (or a header)."""
    return CONTROL.sub(" ", str(value))


def _finalize(value: Any) -> Any:
    # Markup is what a macro of ours returned: its own values went through here already.
    return value if isinstance(value, Markup) else _plain(value)


def _linkable(url: str) -> bool:
    try:
        return urlsplit(url).scheme in ("http", "https")
    except ValueError:  # crawled pages hold every kind of broken URL (``http://[::1``...)
        return False


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
    finalize=_finalize,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_env.tests["linkable"] = _linkable


def render(name: str, **context: Any) -> str:
    """One mail template (``mail/<name>``), outside any Flask app."""
    return _env.get_template(f"mail/{name}").render(**context)


# -- the report mail ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """One failing url (``Outcome.fails_check``) as the mail lists it, read through the one report shape
    (``linkpatrol.reports.results.to_report``): at most ``max_referrers`` referring pages, and how many more."""

    url: str
    description: str
    total: int
    referrers: list[dict[str, Any]]  # to_report's: page, text, element, fragment, line
    more: int
    new: bool = False  # not there in the previous finished crawl of the site

    @classmethod
    def of(cls, res: LinkResult, max_referrers: int, new: bool = False) -> Target:
        shown = to_report(res)
        refs = shown["referrers"]
        total = max(shown["referrer_count"], len(refs))
        return cls(shown["url"], describe(shown["status"], shown["error"], shown["outcome"]), total,
                   refs[:max_referrers], total - min(len(refs), max_referrers), new)


def _date(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _duration(crawl: Crawl) -> str:
    return "not started" if crawl.duration is None else durations.describe(crawl.duration)


ACCEPTED_LABEL = "Accepted (known, not counted)"


def summary(crawl: Crawl, orphans: int | None = None, changes: CrawlDiff | None = None) -> list[tuple[str, Any]]:
    """The mail's summary lines: every count from the crawl record, as on the report page and in the API
    (and the orphan pages, when the crawl read sitemaps), led by what changed since the previous
    finished crawl of the site when there is one (dead links and missing anchors). The site's accepted
    links (``changes.accepted``) leave their outcome's count and are counted on a line of their own."""
    accepted = changes.accepted if changes is not None else InCrawl(None)
    counts = results.counts(crawl, accepted)  # the report page's and the API's numbers
    lines: list[tuple[str, Any]] = [
        ("Pages crawled", crawl.pages_crawled),
        ("Links checked", crawl.links_checked),
        ("Dead links", counts["dead"]),
        ("Missing anchors", counts["anchors"]),
        (OTHER_LABEL, counts["other"]),
        ("Redirected", crawl.redirected),
        ("Duration", _duration(crawl)),
    ]
    if counts["accepted"]:
        lines.insert(5, (ACCEPTED_LABEL, counts["accepted"]))
    if orphans is not None:
        lines.insert(-1, ("Orphan pages", orphans))
    if changes is not None and changes.previous is not None:
        lines.insert(0, (f"New since {_date(changes.previous.created_at)}",
                         f"{changes.new_failing}; fixed: {changes.fixed_failing}"))
        if changes.caveat:  # not like with like: the reader must know before trusting "fixed"
            lines.insert(1, ("Compared with care", changes.caveat))
    return lines


def message_id(key: str, sender: str) -> str:
    """A Message-ID that is the same for every attempt of one mail, so a duplicate is recognisable."""
    domain = sender.rpartition("@")[2] or "linkpatrol.invalid"
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def _message(sender: str, to: str, subject: str, key: str, text: str, html: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = _plain(subject)
    msg["From"] = Address(addr_spec=sender)
    msg["To"] = Address(addr_spec=to)
    msg["Date"] = formatdate(time.time(), localtime=False, usegmt=True)
    msg["Message-ID"] = message_id(key, sender)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def build_report(
    crawl: Crawl,
    failing: list[LinkResult],
    *,
    sender: str,
    to: str,
    links: ReportLinks,
    max_targets: int = 50,
    max_referrers: int = 5,
    key: str = "",
    orphans: list[LinkResult] | None = None,
    changes: CrawlDiff | None = None,
) -> EmailMessage:
    """The report mail of one crawl to one address. ``failing`` carries the links that fail a check
    (``verdicts.FAILING``: dead links and missing anchors) with the referrers to show (the store's
    ``problems(..., referrers=max_referrers)``); ``changes`` (``linkpatrol.reports.diff``) puts the new
    ones first and says what changed since the previous crawl of the site and leaves out the site's
    accepted links (``changes.accepted``: counted, not listed); ``key`` makes the Message-ID stable."""
    to = validate_address(to)
    if changes is not None:
        failing, _ = changes.accepted.split(failing)
    count = len(failing)
    host = _plain(crawl.host)
    anchors = sum(1 for res in failing if res.outcome == Outcome.MISSING_ANCHOR)
    found = [f"{n} {word}{'s' if n != 1 else ''}" for n, word in ((count - anchors, "dead link"),
                                                                   (anchors, "missing anchor")) if n]
    subject = f"{host}: {' and '.join(found)} found" if count else f"{host}: no dead links found"
    new: set[tuple[str, str]] = set()
    if changes is not None and changes.previous is not None:
        n_new = changes.new_failing
        subject = f"{host}: {n_new} new dead link{'s' if n_new != 1 else ''}, {changes.fixed_failing} fixed"
        new = {(res.url, res.outcome) for res in changes.new if res.outcome in FAILING}
        failing = sorted(failing, key=lambda res: (res.url, res.outcome) not in new)  # stable: by url within
    if crawl.state == CrawlState.CANCELLED:
        subject += " (crawl cancelled)"
    ended = ENDED.get(crawl.state, "is running")
    context = {
        "crawl": crawl,
        "subject": subject,
        "ended": ended,
        "summary": summary(crawl, None if orphans is None else len(orphans), changes),
        "orphans": [res.url for res in (orphans or [])[:max_targets]],
        "report_url": links.report_url(crawl.id),
        "count": count,
        "targets": [Target.of(res, max_referrers, (res.url, res.outcome) in new) for res in failing[:max_targets]],
    }
    return _message(sender, to, subject, key or f"report {crawl.id} {to}",
                    render("report.txt", **context), render("report.html", **context))


def build_test_message(*, sender: str, to: str, transport: str, key: str) -> EmailMessage:
    """The "send test email" message: proves the settings work, says which ones."""
    to = validate_address(to)
    return _message(sender, to, "linkpatrol test email", key,
                    render("test.txt", transport=transport), render("test.html", transport=transport))
