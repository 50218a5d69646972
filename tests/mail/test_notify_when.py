"""``notify_when``: a mail only when it says something. Real crawler, real mail worker, aiosmtpd, and a
site on loopback that the test changes between crawls."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from rq.job import Job, JobStatus

from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.wire import LinkResult
from linkpatrol.store.crawls import CrawlStore
from tests.support.fake_crawl import FakePage, run_crawl
from tests.support.mail import WorkerProcess, mail_env
from tests.support.processes import crawl_to_end, wait_for
from tests.support.receivers import ChangingSite
from tests.support.smtp import SMTPServer, body
from tests.support.webapp import make_app

OWNER = "owner@example.org"


def page(*links: str) -> tuple[int, str]:
    return 200, "<html><body>" + "".join(f'<a href="{href}">{href}</a>' for href in links) + "</body></html>"


@pytest.fixture
def changing_site() -> Iterator[ChangingSite]:
    site = ChangingSite({}).start()
    yield site
    site.stop()


def finished_job(conn: redis.Redis, crawl_id: str) -> Job:
    def check() -> Job | None:
        try:
            job = Job.fetch(f"mail-{crawl_id}", connection=conn)
        except Exception:  # not enqueued yet
            return None
        return job if job.get_status(refresh=False) in (JobStatus.FINISHED, JobStatus.FAILED) else None

    job: Job = wait_for(check, 40, what=f"the mail job of {crawl_id} to end")
    return job


def test_changes_mails_only_what_is_new_or_fixed(store: CrawlStore, smtp: SMTPServer, smtp_port: int,
                                                 changing_site: ChangingSite,
                                                 mail_workers: Callable[..., WorkerProcess],
                                                 crawlers: Callable[..., object], rq_conn: redis.Redis,
                                                 redis_url: str, tmp_path: Path) -> None:
    crawlers()
    worker = mail_workers(mail_env(redis_url, smtp_port, tmp_path))
    options = CrawlOptions(notify=[OWNER], notify_when="changes")
    version1 = {"/": page("/fine.html", "/aaa-still", "/gone1"), "/fine.html": page()}
    changing_site.change(version1)
    seed = changing_site.url("/")

    # 1. The site's first crawl: its dead links are all new, so the mail goes out.
    first = crawl_to_end(store, seed, options)
    assert first.dead == 2
    (mail,) = smtp.wait_for(1)
    assert mail.message["Subject"] == f"{first.host}: 2 dead links found"

    # 2. Nothing changed: no mail, and the job says why (in its result, on /jobs and in the log).
    second = crawl_to_end(store, seed, options)
    job = finished_job(rq_conn, second.id)
    assert job.get_status() == JobStatus.FINISHED
    assert f"no dead link or missing anchor is new or fixed since crawl {first.id}" in job.meta["skipped"]
    assert str(job.return_value()).startswith("skipped: notify_when is changes")
    html = make_app(redis_url).test_client().get("/jobs").get_data(as_text=True)
    assert "Skipped: notify_when is changes: no dead link or missing anchor is new or fixed" in html
    assert f"crawl {second.id}: no mail to {OWNER}: notify_when is changes" in worker.output()
    assert len(smtp.deliveries) == 1

    # 3. One dead link fixed, two new ones: the subject says so, new problems first.
    changing_site.change({"/": page("/fine.html", "/aaa-still", "/gone1", "/new-b", "/new-c"),
                          "/fine.html": page(), "/gone1": page()})
    third = crawl_to_end(store, seed, options)
    mails = smtp.wait_for(2)
    msg = mails[1].message
    assert msg["Subject"] == f"{third.host}: 2 new dead links, 1 fixed"
    text = body(msg, "plain")
    listed = [line for line in text.splitlines() if line[:1].isdigit() and ". " in line]
    assert [line.split(". ", 1)[1].split("  ")[0] for line in listed] == [
        f"[new] {seed}new-b", f"[new] {seed}new-c", f"{seed}aaa-still"]


def test_problems_mails_only_when_problems_were_found(store: CrawlStore, smtp: SMTPServer, smtp_port: int,
                                                     mail_workers: Callable[..., WorkerProcess],
                                                     rq_conn: redis.Redis, redis_url: str, tmp_path: Path) -> None:
    mail_workers(mail_env(redis_url, smtp_port, tmp_path))
    options = CrawlOptions(notify=[OWNER], notify_when="problems")
    seed = "http://site.test/"
    clean = run_crawl(store, seed, {seed: FakePage(LinkResult(seed, "ok", 200), [(f"{seed}a", "a")], is_page=True)},
                      options)
    job = finished_job(rq_conn, clean.id)
    assert job.meta["skipped"] == "notify_when is problems and the crawl found no dead links or missing anchors"
    broken = run_crawl(store, seed, {seed: FakePage(LinkResult(seed, "ok", 200), [(f"{seed}x", "x")], is_page=True),
                                     f"{seed}x": FakePage(LinkResult(f"{seed}x", "dead", 404))}, options)
    (mail,) = smtp.wait_for(1)
    assert mail.message["Subject"] == "site.test: 1 new dead link, 0 fixed"
    assert finished_job(rq_conn, broken.id).meta.get("skipped") is None


def test_a_report_asked_for_is_sent_whatever_notify_when_says(store: CrawlStore, smtp: SMTPServer,
                                                               smtp_port: int,
                                                               mail_workers: Callable[..., WorkerProcess],
                                                               redis_url: str, tmp_path: Path) -> None:
    """"Send this report now" is a person asking: notify_when only governs the automatic mail."""
    from web.notifications.queue import enqueue_report, mail_queue
    from web.notifications.settings import MailSettings

    seed = "http://site.test/"
    crawl = run_crawl(store, seed, {}, CrawlOptions(notify_when="problems"))
    env = mail_env(redis_url, smtp_port, tmp_path)
    conn = redis.Redis.from_url(redis_url)
    try:
        enqueue_report(mail_queue(conn, store.keys), crawl.id, ["asked@example.org"], MailSettings.from_env(env))
    finally:
        conn.close()
    mail_workers(env)
    (mail,) = smtp.wait_for(1)
    assert mail.recipients == ["asked@example.org"]


def test_the_form_takes_notify_when_and_webhooks_and_never_shows_the_secret(redis_url: str,
                                                                           store: CrawlStore) -> None:
    from linkpatrol.model.addresses import AddressPolicy

    client = make_app(redis_url, ADDRESS_POLICY=AddressPolicy(allow_private=True)).test_client()
    secret = "form-secret-value"
    resp = client.post("/crawls", data={"url": "https://example.org/", "notify": OWNER, "notify_when": "changes",
                                        "webhooks": "https://hooks.example.org/a?token=t0k\nhttps://hooks.example.org/b",
                                        "webhook_secret": secret})
    assert resp.status_code == 303
    crawl = store.list()[0]
    assert crawl.options.notify_when == "changes" and crawl.options.webhook_signed
    assert crawl.options.webhooks == ["https://hooks.example.org/a?token=t0k", "https://hooks.example.org/b"]
    report = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert secret not in report and "t0k" not in report
    # An error elsewhere: the form comes back with the choices, never with the secret.
    resp = client.post("/crawls", data={"url": "https://example.org/", "notify_when": "changes",
                                        "webhooks": "ftp://hooks.example.org/x", "webhook_secret": secret})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Webhooks: " in page and "is not an http or https URL" in page
    assert secret not in page and '<option value="changes" selected>' in page
