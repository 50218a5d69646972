"""The jobs page and the mail actions through Flask's test client; jobs run by an in-process RQ
SimpleWorker (burst) against the private Redis. Without SMTP settings, mails land in a folder."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from rq import SimpleWorker
from rq.job import Job, JobStatus

from linkpatrol.cli.redis_server import free_port
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from tests.support.mail import FAST_ENV, finish_crawl
from tests.support.smtp import SMTPServer, body
from tests.support.webapp import csrf_token, make_app
from web.notifications.queue import mail_queue
from web.notifications.settings import MailSettings


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


@pytest.fixture
def outbox_env(monkeypatch: pytest.MonkeyPatch, redis_url: str, outbox: Path) -> None:
    """What the jobs read (they run in this process): no SMTP, mails to ``outbox``."""
    for name, value in {**FAST_ENV, "REDIS_URL": redis_url, "LINKPATROL_MAIL_DIR": str(outbox),
                        "LINKPATROL_SMTP_HOST": ""}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def mail_app(redis_url: str, outbox_env: None) -> Flask:
    """The app with the same mail settings as the jobs, and CSRF on."""
    return make_app(redis_url, MAIL_SETTINGS=MailSettings.from_env(), WTF_CSRF_ENABLED=True)


@pytest.fixture
def mail_client(mail_app: Flask) -> FlaskClient:
    return mail_app.test_client()


def run_jobs(conn: redis.Redis) -> None:
    SimpleWorker([mail_queue(conn, Keys())], connection=conn).work(burst=True)


def post(client: FlaskClient, path: str, data: dict[str, str] | None = None, page: str = "/jobs") -> tuple[int, str]:
    resp = client.post(path, data={"csrf_token": csrf_token(client, page), **(data or {})})
    follow = client.get(resp.headers["Location"]) if resp.status_code == 303 else resp
    return resp.status_code, follow.get_data(as_text=True)


def test_send_report_now_goes_to_the_outbox(mail_client: FlaskClient, store: CrawlStore, rq_conn: redis.Redis,
                                            outbox: Path) -> None:
    client = mail_client
    crawl = finish_crawl(store, [], {"http://site.test/gone": [("http://site.test/", "Gone")]})
    report = f"/crawls/{crawl.id}"
    assert 'name="to"' in client.get(report).get_data(as_text=True)
    status, html = post(client, f"{report}/mail", {"to": "boss@example.org, me@example.org"}, page=report)
    assert status == 303 and "on its way to boss@example.org, me@example.org" in html
    assert "no SMTP server is configured" in html
    jobs = client.get("/jobs.json").get_json()
    assert jobs["counts"]["queued"] == 1 and not jobs["smtp"]
    run_jobs(rq_conn)
    files = sorted(outbox.glob("*.eml"))
    assert len(files) == 2
    msg = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert msg["Subject"] == "site.test: 1 dead link found"
    assert f"http://reports.test/crawls/{crawl.id}" in body(msg, "plain")
    (done,) = client.get("/jobs.json").get_json()["jobs"]["finished"]
    assert done["attempt"] == 1 and "sent to boss@example.org, me@example.org" in done["result"]
    page = client.get("/jobs").get_data(as_text=True)
    assert "No SMTP server is configured" in page and str(outbox) in page


@pytest.mark.parametrize("bad", ["a@example.org\r\nBcc: victim@example.org", "Bob <b@example.org>",
                                 "not-an-address", "a@example.org%0aBcc:x@y.z"])
def test_bad_addresses_are_refused(mail_client: FlaskClient, store: CrawlStore, bad: str) -> None:
    client = mail_client
    crawl = finish_crawl(store, [], {})
    status, html = post(client, f"/crawls/{crawl.id}/mail", {"to": bad}, page=f"/crawls/{crawl.id}")
    assert status == 303 and "Report not sent" in html
    status, html = post(client, "/mail/test", {"to": bad})
    assert status == 303 and "Test email not sent" in html
    assert client.get("/jobs.json").get_json()["counts"]["queued"] == 0


def test_failed_job_is_shown_with_its_error_and_can_be_retried_or_deleted(
        mail_client: FlaskClient, mail_app: Flask, rq_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    client = mail_client
    port = free_port()
    server = SMTPServer(port)
    server.handler.refuse["bounce@example.org"] = "550 5.1.1 mailbox unavailable"
    server.start()
    try:
        settings = MailSettings.from_env({**FAST_ENV, "LINKPATROL_SMTP_HOST": "127.0.0.1",
                                          "LINKPATROL_SMTP_PORT": str(port)})
        mail_app.config["MAIL_SETTINGS"] = settings
        monkeypatch.setenv("LINKPATROL_SMTP_HOST", "127.0.0.1")  # what the job (the worker) reads
        monkeypatch.setenv("LINKPATROL_SMTP_PORT", str(port))
        status, html = post(client, "/mail/test", {"to": "bounce@example.org"})
        assert "Test email to bounce@example.org queued" in html
        run_jobs(rq_conn)
        data = client.get("/jobs.json").get_json()
        (failed,) = data["jobs"]["failed"]
        assert data["counts"]["failed"] == 1 and failed["max_attempts"] == 1
        assert "550 5.1.1 mailbox unavailable" in failed["error"] and failed["can_retry"]
        page = client.get("/jobs").get_data(as_text=True)
        assert "550 5.1.1 mailbox unavailable" in page and "(permanent: not retried)" in page
        # Retry needs the CSRF token...
        assert client.post(f"/jobs/{failed['id']}/retry").status_code == 400
        # ...and with it the job runs again: the address now accepts mail.
        del server.handler.refuse["bounce@example.org"]
        status, html = post(client, f"/jobs/{failed['id']}/retry")
        assert status == 303 and "queued for one more attempt" in html
        run_jobs(rq_conn)
        job = Job.fetch(failed["id"], connection=rq_conn)
        assert job.get_status() == JobStatus.FINISHED and len(job.meta["attempts"]) == 2
        assert [d.recipients for d in server.deliveries] == [["bounce@example.org"]]
        status, html = post(client, f"/jobs/{failed['id']}/delete")
        assert "deleted" in html and client.get("/jobs.json").get_json()["counts"]["finished"] == 0
        assert client.post("/jobs/nope/retry", data={"csrf_token": csrf_token(client, "/jobs")}).status_code == 404
    finally:
        server.stop()


def test_jobs_page_is_behind_the_login(redis_url: str, outbox_env: None) -> None:
    client = make_app(redis_url, USERNAME="admin", PASSWORD="secret").test_client()
    resp = client.get("/jobs")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    resp = client.get("/jobs.json")  # a JSON route answers JSON, not a redirect to a form
    assert resp.status_code == 401 and resp.is_json
    assert client.post("/jobs/x/delete").status_code == 302
