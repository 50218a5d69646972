"""The jobs page in a real browser (Debian's chromium through Playwright): the real app on a free port,
a real ``python -m web.processes.worker`` and a real SMTP server. Counts update live; a failed job and a
scheduled retry are shown with their errors and retried from the page."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from linkpatrol.store.crawls import CrawlStore
from tests.support.browser import BROWSER_MARKS, serving
from tests.support.mail import WorkerProcess, finish_crawl, mail_env
from tests.support.smtp import SMTPServer
from tests.support.webapp import make_app
from web.notifications.settings import MailSettings

pytestmark = BROWSER_MARKS


@pytest.fixture
def env(redis_url: str, smtp: SMTPServer, tmp_path: Path) -> dict[str, str]:
    # A retry waits about 30 s: long enough to see it scheduled, and to click "Retry now".
    return mail_env(redis_url, smtp.port, tmp_path, LINKPATROL_MAIL_RETRY_DELAY="30",
                    LINKPATROL_MAIL_RETRY_MAX_DELAY="30")


@pytest.fixture
def worker(env: dict[str, str], mail_workers: Callable[[dict[str, str]], WorkerProcess]) -> WorkerProcess:
    return mail_workers(env)


@pytest.fixture
def web_url(redis_url: str, env: dict[str, str]) -> Iterator[str]:
    app = make_app(redis_url, WTF_CSRF_ENABLED=True, MAIL_SETTINGS=MailSettings.from_env(env))
    with serving(app) as url:
        yield url


def test_jobs_page_live_counts_errors_and_retry(web_url: str, worker: WorkerProcess, smtp: SMTPServer,
                                                store: CrawlStore, browser_page: object) -> None:
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    smtp.handler.refuse["bounce@example.org"] = "550 5.1.1 mailbox unavailable"
    smtp.handler.refuse["later@example.org"] = "451 4.7.1 greylisted, try later"

    page.goto(web_url + "/jobs")
    expect(page.get_by_role("heading", name="Mail jobs")).to_be_visible()
    stats = page.locator("dl.stats")
    expect(stats.locator('[data-count="failed"]')).to_have_text("0")

    # Two crawls end while the page is open: one mail bounces for good, one is deferred.
    bounced = finish_crawl(store, ["bounce@example.org"], {"http://site.test/x": [("http://site.test/", "x")]})
    deferred = finish_crawl(store, ["later@example.org"], {})
    expect(stats.locator('[data-count="failed"]')).to_have_text("1")
    expect(stats.locator('[data-count="scheduled"]')).to_have_text("1")

    failed_row = page.locator('table[data-state="failed"] tr', has_text=f"mail-{bounced.id}")
    expect(failed_row).to_contain_text("550 5.1.1 mailbox unavailable")
    expect(failed_row).to_contain_text("1 of 4")
    scheduled_row = page.locator('table[data-state="scheduled"] tr', has_text=f"mail-{deferred.id}")
    expect(scheduled_row).to_contain_text("451 4.7.1 greylisted, try later")
    expect(scheduled_row).to_contain_text("next attempt")
    next_at = scheduled_row.locator("[data-field=when] time")
    expect(next_at).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT.*Z$"))

    # The server is fixed; retry both from the page.
    smtp.handler.refuse.clear()
    scheduled_row.get_by_role("button", name="Retry now").click()
    expect(page.locator(".flash")).to_contain_text("the next attempt starts now")
    page.locator('table[data-state="failed"] tr', has_text=f"mail-{bounced.id}").get_by_role(
        "button", name="Retry").click()
    expect(page.locator(".flash")).to_contain_text("queued for one more attempt")
    expect(stats.locator('[data-count="finished"]')).to_have_text("2")
    expect(stats.locator('[data-count="failed"]')).to_have_text("0")
    expect(stats.locator('[data-count="scheduled"]')).to_have_text("0")
    finished = page.locator('table[data-state="finished"]')
    expect(finished).to_contain_text("sent to bounce@example.org")
    expect(finished).to_contain_text("sent to later@example.org")
    assert sorted(r for d in smtp.deliveries for r in d.recipients) == ["bounce@example.org", "later@example.org"]
    assert not problems, problems
