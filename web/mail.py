"""Building the report mail: addresses validated, plain text and HTML, everything crawled escaped.

No Flask and no Redis here: callers pass the crawl and its dead links in.
"""

from __future__ import annotations

import hashlib
import html
import re
import time
from dataclasses import dataclass
from email.errors import HeaderParseError, MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import urlsplit

from crawler.storage import Crawl, LinkResult

MAX_ADDRESS_LENGTH = 254
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidAddress(ValueError):
    """An address we refuse to put in a header; the message says why, for a person."""


def validate_address(raw: str) -> str:
    """The address as a bare ``local@domain``; raises InvalidAddress for anything else (names,
    lists, line breaks, control characters...)."""
    if not isinstance(raw, str):
        raise InvalidAddress("an email address must be text")
    value = raw.strip()
    if _CONTROL.search(value):
        raise InvalidAddress("an email address cannot contain line breaks or control characters")
    if not value:
        raise InvalidAddress("the email address is empty")
    if len(value) > MAX_ADDRESS_LENGTH:
        raise InvalidAddress(f"an email address has at most {MAX_ADDRESS_LENGTH} characters")
    if any(c.isspace() for c in value) or value.count("@") != 1:
        raise InvalidAddress(f"{value!r} is not an email address like name@example.org")
    try:
        parsed = Address(addr_spec=value)
    except (ValueError, IndexError, HeaderParseError, MessageError) as exc:
        raise InvalidAddress(f"{value!r} is not an email address like name@example.org") from exc
    if not parsed.username or not parsed.domain or parsed.domain.startswith(".") or parsed.domain.endswith("."):
        raise InvalidAddress(f"{value!r} is not an email address like name@example.org")
    return parsed.addr_spec


def validate_addresses(raw: list[str] | str) -> list[str]:
    """Several addresses (a list, or a string separated by commas, semicolons or spaces), deduplicated."""
    items = re.split(r"[,;\s]+", raw) if isinstance(raw, str) else list(raw)
    seen: dict[str, None] = {}
    for item in items:
        if isinstance(item, str) and not item.strip():
            continue
        seen.setdefault(validate_address(item), None)
    return list(seen)


@dataclass(frozen=True)
class ReportLinks:
    """Where the full report lives; ``report_url`` is what the web app's reports blueprint serves."""

    base_url: str

    def report_url(self, crawl_id: str) -> str:
        return f"{self.base_url}/crawls/{crawl_id}"


def _plain(value: object) -> str:
    """Text from a crawled page, made safe for one line of a plain-text mail."""
    return _CONTROL.sub(" ", str(value))


def _describe(res: LinkResult) -> str:
    if res.status is not None:
        return f"HTTP {res.status}"
    return res.error or res.outcome


def _linkable(url: str) -> bool:
    try:
        return urlsplit(url).scheme in ("http", "https")
    except ValueError:  # crawled pages hold every kind of broken URL (``http://[::1``...)
        return False


def _duration(crawl: Crawl) -> str:
    seconds = crawl.duration
    if seconds is None:
        return "not started"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


def message_id(key: str, sender: str) -> str:
    """A Message-ID that is the same for every attempt of one mail, so a duplicate is recognisable."""
    domain = sender.rpartition("@")[2] or "linkpatrol.invalid"
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def _headers(msg: EmailMessage, sender: str, to: str, subject: str, key: str) -> None:
    msg["Subject"] = _plain(subject)
    msg["From"] = Address(addr_spec=sender)
    msg["To"] = Address(addr_spec=to)
    msg["Date"] = formatdate(time.time(), localtime=False, usegmt=True)
    msg["Message-ID"] = message_id(key, sender)
    msg["Auto-Submitted"] = "auto-generated"


def build_report(
    crawl: Crawl,
    dead: list[LinkResult],
    *,
    sender: str,
    to: str,
    links: ReportLinks,
    max_targets: int = 50,
    max_referrers: int = 5,
    key: str = "",
) -> EmailMessage:
    """The report mail of one crawl to one address. ``dead`` carries the referrers to show (the
    store's ``problems(..., referrers=max_referrers)``); ``key`` makes the Message-ID stable."""
    to = validate_address(to)
    host = _plain(crawl.host)
    count = len(dead)
    ended = "was cancelled" if crawl.state == "cancelled" else "finished" if crawl.state == "finished" else "is running"
    subject = f"{host}: {count} dead link{'s' if count != 1 else ''} found" if count else f"{host}: no dead links found"
    if crawl.state == "cancelled":
        subject += " (crawl cancelled)"
    report_url = links.report_url(crawl.id)
    c = crawl.counters
    other = c.get("outcome_blocked", 0) + c.get("outcome_rate_limited", 0)
    summary = [
        ("Pages crawled", crawl.pages_crawled),
        ("Links checked", crawl.links_checked),
        ("Dead links", count),
        ("Blocked, rate-limited or unknown", other),
        ("Redirected", c.get("redirected", 0)),
        ("Duration", _duration(crawl)),
    ]
    shown = dead[:max_targets]

    # -- plain text ----------------------------------------------------------------------------
    lines = [f"linkpatrol checked {_plain(crawl.url)}; the crawl {ended}.", ""]
    lines += [f"{label}: {value}" for label, value in summary]
    lines += ["", f"Full report: {report_url}", ""]
    if not count:
        lines.append("Good news: every link we checked answered. Nothing to fix.")
    for i, res in enumerate(shown, 1):
        lines.append(f"{i}. {_plain(res.url)}  ({_plain(_describe(res))})")
        total = max(res.referrer_count, len(res.referrers))
        lines.append(f"   linked from {total} page{'s' if total != 1 else ''}:")
        for ref in res.referrers[:max_referrers]:
            text = f' "{_plain(ref.text)}"' if ref.text else ""
            lines.append(f"   - {_plain(ref.page)}{text}")
        if total > min(len(res.referrers), max_referrers):
            lines.append(f"   - and {total - min(len(res.referrers), max_referrers)} more (see the full report)")
        lines.append("")
    if count > len(shown):
        lines.append(f"... and {count - len(shown)} more dead links: {report_url}")
    lines += ["", "-- ", "Sent by linkpatrol because this address asked to be told when the crawl ended."]
    text_body = "\n".join(lines) + "\n"

    # -- HTML ----------------------------------------------------------------------------------
    e = html.escape

    def anchor(url: str) -> str:
        return f'<a href="{e(url)}">{e(url)}</a>' if _linkable(url) else e(url)

    parts = [
        "<!doctype html><html><body style=\"font-family:sans-serif;line-height:1.4;color:#1f2328\">",
        f"<h1 style=\"font-size:20px\">{e(subject)}</h1>",
        f"<p>linkpatrol checked {anchor(crawl.url)}; the crawl {e(ended)}.</p>",
        "<table style=\"border-collapse:collapse\">",
        *(f"<tr><th style=\"text-align:left;padding:2px 12px 2px 0\">{e(label)}</th><td>{e(str(value))}</td></tr>"
          for label, value in summary),
        "</table>",
        f"<p><a href=\"{e(report_url)}\">Open the full report</a></p>",
    ]
    if not count:
        parts.append("<p>Good news: every link we checked answered. Nothing to fix.</p>")
    else:
        parts.append("<ol>")
        for res in shown:
            total = max(res.referrer_count, len(res.referrers))
            parts.append(f"<li><p>{anchor(res.url)} <strong>{e(_describe(res))}</strong><br>"
                         f"linked from {total} page{'s' if total != 1 else ''}:</p><ul>")
            for ref in res.referrers[:max_referrers]:
                text = f" &ldquo;{e(ref.text)}&rdquo;" if ref.text else ""
                parts.append(f"<li>{anchor(ref.page)}{text}</li>")
            if total > min(len(res.referrers), max_referrers):
                more = total - min(len(res.referrers), max_referrers)
                parts.append(f"<li>and {more} more (<a href=\"{e(report_url)}\">full report</a>)</li>")
            parts.append("</ul></li>")
        parts.append("</ol>")
        if count > len(shown):
            parts.append(f"<p>&hellip; and {count - len(shown)} more dead links in the "
                         f"<a href=\"{e(report_url)}\">full report</a>.</p>")
    parts.append("<p style=\"color:#656d76;font-size:12px\">Sent by linkpatrol because this address asked "
                 "to be told when the crawl ended.</p></body></html>")

    msg = EmailMessage()
    _headers(msg, sender, to, subject, key or f"report {crawl.id} {to}")
    msg.set_content(text_body)
    msg.add_alternative("\n".join(parts) + "\n", subtype="html")
    return msg


def build_test_message(*, sender: str, to: str, transport: str, key: str) -> EmailMessage:
    """The "send test email" message: proves the settings work, says which ones."""
    to = validate_address(to)
    msg = EmailMessage()
    _headers(msg, sender, to, "linkpatrol test email", key)
    body = (f"This is a test email from linkpatrol.\n\nIt was sent through {transport}.\n"
            "If you can read it, report mails will reach you.\n")
    msg.set_content(body)
    msg.add_alternative(f"<!doctype html><html><body><p>{html.escape(body).replace(chr(10), '<br>')}</p>"
                        "</body></html>\n", subtype="html")
    return msg
