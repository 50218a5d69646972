"""Webhooks: what is POSTed when a crawl ends, how it is signed, and how it is sent past the SSRF guard.

No Flask and no RQ here: the job (``web.notifications.webhooks.jobs``) reads the crawl and its diff, builds the body
with ``payload``, and hands it to ``deliver``.

Sending: the host is resolved once, every address it resolves to is judged by the address policy
(``linkpatrol.model.addresses``), and the connection goes to an address that was checked (a DNS answer that
changes between the check and the connection cannot lead elsewhere). TLS still verifies the
certificate against the host name. A redirect is not followed. Timeouts are short and at most
``MAX_READ`` bytes of the answer are read.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from linkpatrol.model.addresses import AddressPolicy
from linkpatrol.model.option_values import webhook_target as redact  # the shown form of a URL, kept with the options
from linkpatrol.model.records import Crawl
from linkpatrol.reports import results
from linkpatrol.reports.diff import CrawlDiff
from linkpatrol.reports.summary import crawl_summary, iso

SIGNATURE_HEADER = "X-Linkpatrol-Signature-256"
DELIVERY_HEADER = "X-Linkpatrol-Delivery"
EVENT_HEADER = "X-Linkpatrol-Event"
EVENT = "crawl.ended"
MAX_READ = 64 * 1024  # bytes of a receiver's answer read (its first line goes into the error)
USER_AGENT = "linkpatrol-webhook"


class WebhookError(Exception):
    """A delivery that failed; ``permanent`` when trying again cannot help."""

    permanent = False


class TransientWebhookError(WebhookError):
    pass


class PermanentWebhookError(WebhookError):
    permanent = True


def refused(urls: list[str], policy: AddressPolicy) -> str:
    """Why the address policy refuses one of these webhook URLs without resolving it (an IP literal or
    a local name), or "". Names are resolved and checked when each webhook is sent."""
    for url in urls:
        host = urlsplit(url).hostname or ""
        if policy.refuses_host(host):
            return (f"{host} is a private or local address, which this server does not send webhooks to "
                    "(LINKPATROL_ALLOW_PRIVATE, LINKPATROL_ALLOWED_NETWORKS)")
    return ""


def sign(body: bytes, secret: str) -> str:
    """The signature header's value, as GitHub's webhooks give it: ``sha256=<hex HMAC-SHA256 of the body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def text(crawl: Crawl, changes: CrawlDiff, report_url: str) -> str:
    """One line Slack and Mattermost incoming webhooks show as is: what changed, the totals, the link.
    Only the host, counts and our own URL go in: nothing a crawled page wrote. Accepted links
    (``linkpatrol.reports.accepted``) are counted apart, not as broken."""
    accepted = changes.accepted
    counts = results.counts(crawl, accepted)  # the report's, the API's and the mail's numbers
    dead, failing = counts["dead"], counts["failing"]
    if changes.previous is not None:
        head = f"{crawl.host}: {_plural(changes.new_failing, 'new dead link')}, {changes.fixed_failing} fixed"
    else:
        head = f"{crawl.host}: {_plural(dead, 'dead link')} found"
    state = "" if crawl.state == "finished" else f" (crawl {crawl.state})"
    caveat = f" {changes.caveat}" if changes.previous is not None and changes.caveat else ""
    known = f" ({accepted.total} accepted, not counted)" if accepted.total else ""
    return (f"{head}{state}; {_plural(crawl.links_checked, 'link')} checked on "
            f"{_plural(crawl.pages_crawled, 'page')}, {failing} broken in all{known}.{caveat} Report: {report_url}")


def payload(crawl: Crawl, changes: CrawlDiff, report_url: str, delivery: str) -> dict[str, Any]:
    """The JSON body. ``crawl`` is the API's crawl summary without its options (they name the other
    webhooks and the notify addresses)."""
    summary = crawl_summary(crawl)
    del summary["options"], summary["server_time"]
    return {
        "event": EVENT,
        "delivery": delivery,
        "crawl": summary,
        "diff": {
            "previous": changes.previous.id if changes.previous else None,
            "previous_created_at": iso(changes.previous.created_at) if changes.previous else None,
            "new": len(changes.new),
            "fixed": len(changes.fixed),
            "still": len(changes.still),
            "unchecked": len(changes.unchecked),
            "option_changes": list(changes.option_changes),
            # Links that fail a check (dead links, missing anchors: Outcome.fails_check), new and fixed.
            "new_failing": changes.new_failing,
            "fixed_failing": changes.fixed_failing,
            "new_broken": changes.new_failing,  # deprecated (one release): new_failing
            "fixed_broken": changes.fixed_failing,  # deprecated (one release): fixed_failing
            "by_outcome": {str(o): row for o, row in changes.by_outcome().items()},
            # Problems of the crawl the site owner accepted (linkpatrol.reports.accepted): in no list above.
            "accepted": changes.accepted.total,
            "accepted_by_outcome": dict(changes.accepted.counts),
        },
        "report_url": report_url,
        "text": text(crawl, changes, report_url),
    }


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True)
class Answer:
    status: int
    body: str  # the first bytes of what the receiver answered, decoded for a person


def resolve_checked(host: str, port: int, policy: AddressPolicy) -> str:
    """An address of ``host`` to connect to, after every address it resolves to passed the policy."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TransientWebhookError(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    refused = [a for a in addresses if not policy.allows(a)]
    if refused or not addresses:
        raise PermanentWebhookError(f"{host} resolves to {', '.join(refused) or 'nothing'}: a private or local "
                                    "address the address policy refuses (LINKPATROL_ALLOW_PRIVATE, "
                                    "LINKPATROL_ALLOWED_NETWORKS)")
    return addresses[0]


def _connection(url: str, address: str, timeout: float) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    target = (address, conn.port)

    def pinned(_addr: tuple[str, int], timeout: float | None = None, source: Any = None) -> socket.socket:
        # http.client's own hook: the checked address, whatever the name resolves to now
        return socket.create_connection(target, timeout, source)

    conn._create_connection = pinned  # type: ignore[attr-defined]
    return conn


def deliver(url: str, body: bytes, headers: dict[str, str], policy: AddressPolicy, timeout: float = 10) -> Answer:
    """POST ``body`` to ``url``. Returns the 2xx answer; raises WebhookError (transient: no connection,
    a timeout, 408, 429, 5xx; permanent: a refused address, a redirect, any other 4xx)."""
    where = redact(url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentWebhookError(f"{where}: not an http or https URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve_checked(parts.hostname, port, policy)
    path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    conn = _connection(url, address, timeout)
    try:
        conn.request("POST", path, body=body, headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
        resp = conn.getresponse()
        raw = resp.read(MAX_READ)
    except ssl.SSLCertVerificationError as exc:
        raise PermanentWebhookError(f"{where}: TLS certificate not trusted: {exc.verify_message or exc}") from exc
    except TimeoutError as exc:
        raise TransientWebhookError(f"{where}: no answer within {timeout:g} s") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise TransientWebhookError(f"{where}: {type(exc).__name__}: {exc}") from exc
    finally:
        conn.close()
    answer = Answer(resp.status, raw.decode("utf-8", "replace").strip().splitlines()[0][:200] if raw.strip() else "")
    said = f"HTTP {answer.status}" + (f" {answer.body}" if answer.body else "")
    if 200 <= resp.status < 300:
        return answer
    if 300 <= resp.status < 400:
        raise PermanentWebhookError(f"{where}: answered {said}: a redirect, not followed")
    if resp.status in (408, 429) or resp.status >= 500:
        raise TransientWebhookError(f"{where}: answered {said}")
    raise PermanentWebhookError(f"{where}: answered {said}")
