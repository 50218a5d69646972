"""The report mail, addresses, settings and what an SMTP failure means (a real aiosmtpd where it speaks)."""

from __future__ import annotations

import random
import smtplib
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult

from linkpatrol.cli.redis_server import free_port
from linkpatrol.env import BadSetting
from linkpatrol.model.email_address import InvalidAddress
from linkpatrol.model.email_address import validate as validate_address
from linkpatrol.model.email_address import validate_all as validate_addresses
from linkpatrol.model.options import CrawlOptions, InvalidOption, parse_options
from linkpatrol.model.records import Crawl
from linkpatrol.model.wire import LinkResult, Referrer
from tests.support.smtp import SMTPServer, body
from web.notifications.mail.message import ReportLinks, build_report
from web.notifications.mail.transport import PermanentMailError, TransientMailError, classify, open_transport
from web.notifications.settings import MailSettings

LINKS = ReportLinks("https://patrol.example")


def crawl(state: str = "finished", **counters: int) -> Crawl:
    return Crawl(id="c0ffee", url="https://site.example/", host="site.example", state=state,
                 options=CrawlOptions(), created_at=1.0, started_at=1.0, finished_at=31.0, counters=counters)


def dead(url: str, *pages: str, status: int | None = 404, error: str | None = None) -> LinkResult:
    refs = [Referrer(p, f"text on {p}", "a", "") for p in pages]
    return LinkResult(url, "dead", status, error, referrers=refs, referrer_count=len(refs))


@pytest.mark.parametrize("good", ["a@example.org", " first.last+tag@sub.example.co ", "x@localhost"])
def test_good_addresses(good: str) -> None:
    assert validate_address(good) == good.strip()


@pytest.mark.parametrize("bad", ["", "a", "a@", "@b.org", "a@b.org\r\nBcc: c@d.org", "a@b.org\nX: y", "a b@c.org",
                                 "Bob <b@c.org>", "a@b.org, c@d.org", "a@@b.org", "a@.b.org", "a@b\x00.org",
                                 "x" * 250 + "@b.org"])
def test_bad_addresses(bad: str) -> None:
    with pytest.raises(InvalidAddress):
        validate_address(bad)


def test_a_crawl_takes_for_notify_exactly_the_addresses_a_mail_can_go_to() -> None:
    for address in ("a@example.org", "x@localhost", "Bob <b@c.org>", "a@b.org\r\nBcc: c@d.org", "a@.b.org", "a@@b.org",
                    '"quoted"@example.org', "x" * 250 + "@b.org"):
        try:
            mail = validate_address(address) == address
        except InvalidAddress:
            mail = False
        try:
            notify = parse_options({"notify": [address]}).notify == [address]
        except InvalidOption:
            notify = False
        assert notify == mail, address


def test_address_lists() -> None:
    assert validate_addresses("a@x.org, b@x.org;a@x.org\nc@x.org") == ["a@x.org", "b@x.org", "c@x.org"]
    assert validate_addresses(["a@x.org", ""]) == ["a@x.org"]


def test_friendly_mail_when_nothing_is_dead_and_cancelled_marked() -> None:
    msg = build_report(crawl(pages_crawled=3, links_checked=9), [], sender="p@patrol.example", to="o@x.org",
                       links=LINKS)
    assert msg["Subject"] == "site.example: no dead links found"
    text = body(msg, "plain")
    assert "Good news" in text and "Links checked: 9" in text and "Duration: 30s" in text
    assert "Good news" in body(msg, "html")
    cancelled = build_report(crawl("cancelled"), [dead("https://site.example/x", "https://site.example/")],
                             sender="p@patrol.example", to="o@x.org", links=LINKS)
    assert cancelled["Subject"] == "site.example: 1 dead link found (crawl cancelled)"
    assert "the crawl was cancelled" in body(cancelled, "plain")


def test_targets_and_referrers_are_capped_and_crawled_text_is_neutralised() -> None:
    items = [dead(f"https://site.example/{i}", *(f"https://site.example/p{j}" for j in range(4))) for i in range(3)]
    items[0].referrers[0].text = 'line\r\nBcc: evil@x.org <b onmouseover="x()">'
    items[1].status, items[1].error = None, "dns"
    items.append(dead("javascript:alert(1)", "https://site.example/"))
    items.append(dead("http://[::1", "https://site.example/"))  # malformed URLs are found on real pages
    msg = build_report(crawl(), items, sender="p@patrol.example", to="o@x.org", links=LINKS, max_targets=3,
                       max_referrers=2, key="job o@x.org")
    assert "Bcc" not in str(msg).split("\n\n", 1)[0]  # headers untouched
    text = body(msg, "plain")
    html = body(msg, "html")
    assert "line  Bcc: evil@x.org" in text  # CR/LF from a page flattened to spaces
    assert "and 2 more (see the full report)" in text and "... and 2 more dead links" in text
    assert "(dns)" in text and "https://patrol.example/crawls/c0ffee" in text
    assert "<b onmouseover" not in html and "&lt;b onmouseover=&#34;x()&#34;&gt;" in html
    assert 'href="javascript:' not in html and 'href="http://[::1' not in html
    again = build_report(crawl(), items, sender="p@patrol.example", to="o@x.org", links=LINKS, key="job o@x.org")
    assert again["Message-ID"] == msg["Message-ID"]  # the same mail on every attempt


def test_settings_and_backoff() -> None:
    s = MailSettings.from_env({})
    assert (s.attempts, s.retry_delay, s.smtp_port, s.smtp_enabled) == (6, 120, 587, False)
    waits = s.retry_intervals(random.Random(1))
    assert len(waits) == 5 and waits == sorted(waits)
    assert 0.8 * 3720 <= sum(waits) <= 1.2 * 3720  # about an hour in all
    ssl = MailSettings.from_env({"LINKPATROL_SMTP_HOST": "mx", "LINKPATROL_SMTP_SECURITY": "ssl"})
    assert ssl.smtp_port == 465 and ssl.transport == "SMTP mx:465 (ssl)"
    with pytest.raises(BadSetting, match="LINKPATROL_SMTP_SECURITY"):
        MailSettings.from_env({"LINKPATROL_SMTP_SECURITY": "tls-please"})
    with pytest.raises(BadSetting, match="LINKPATROL_MAIL_ATTEMPTS"):
        MailSettings.from_env({"LINKPATROL_MAIL_ATTEMPTS": "0"})


@pytest.mark.parametrize(("exc", "permanent"), [
    (smtplib.SMTPRecipientsRefused({"a@x.org": (550, b"no such user")}), True),
    (smtplib.SMTPRecipientsRefused({"a@x.org": (451, b"greylisted")}), False),
    (smtplib.SMTPSenderRefused(553, b"not yours", "p@x.org"), True),
    (smtplib.SMTPDataError(421, b"busy"), False),
    (smtplib.SMTPAuthenticationError(535, b"bad credentials"), True),
    (ConnectionRefusedError(111, "refused"), False),
    (TimeoutError(), False),
    (smtplib.SMTPServerDisconnected("gone"), False),
])
def test_failure_kinds(exc: Exception, permanent: bool) -> None:
    assert classify(exc).permanent is permanent


def test_real_server_auth_failure_is_permanent_and_refused_connection_transient() -> None:
    def deny(*_: Any) -> AuthResult:
        return AuthResult(success=False, handled=False)

    port = free_port()
    server = SMTPServer(port, authenticator=deny, auth_require_tls=False).start()
    settings = MailSettings.from_env({"LINKPATROL_SMTP_HOST": "127.0.0.1", "LINKPATROL_SMTP_PORT": str(port),
                                      "LINKPATROL_SMTP_SECURITY": "none", "LINKPATROL_SMTP_USER": "u",
                                      "LINKPATROL_SMTP_PASSWORD": "wrong"})
    try:
        with pytest.raises(PermanentMailError, match="authentication failed"):
            open_transport(settings)
    finally:
        server.stop()
    with pytest.raises(TransientMailError, match="connection refused"):
        open_transport(settings)
