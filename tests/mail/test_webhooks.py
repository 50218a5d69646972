"""Webhooks: a real aiohttp receiver on loopback, the real mail worker (RQ with its scheduler), the
address policy at the form/API and again at send time."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from rq.job import Job, JobStatus

from linkpatrol.model.addresses import AddressPolicy
from linkpatrol.model.options import CrawlOptions, InvalidOption, parse_options
from linkpatrol.model.wire import LinkResult
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.watch.webhooks import PermanentWebhookError, TransientWebhookError, deliver
from tests.support.fake_crawl import FakePage, run_crawl
from tests.support.mail import WorkerProcess, mail_env
from tests.support.processes import SiteServer, wait_for
from tests.support.receivers import WebhookReceiver
from tests.support.webapp import make_app

SEED = "http://site.test/"
SECRET = "correct horse battery staple"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    yield server
    server.stop()


def ended_job(conn: redis.Redis, job_id: str, timeout: float = 40) -> Job:
    def check() -> Job | None:
        try:
            job = Job.fetch(job_id, connection=conn)
        except Exception:  # not enqueued yet
            return None
        return job if job.get_status(refresh=False) in (JobStatus.FINISHED, JobStatus.FAILED) else None

    job: Job = wait_for(check, timeout, what=f"job {job_id} to end")
    return job


def crawl_with_one_dead_link(store: CrawlStore, options: CrawlOptions) -> str:
    pages = {SEED: FakePage(LinkResult(SEED, "ok", 200), [(f"{SEED}gone", "gone")], is_page=True),
             f"{SEED}gone": FakePage(LinkResult(f"{SEED}gone", "dead", 404))}
    return run_crawl(store, SEED, pages, options).id


def test_retries_with_backoff_then_delivers_once_signed(store: CrawlStore, receiver: WebhookReceiver,
                                                         mail_workers: Callable[..., WorkerProcess],
                                                         rq_conn: redis.Redis, redis_url: str,
                                                         tmp_path: Path) -> None:
    receiver.script = [500, 500]
    worker = mail_workers(mail_env(redis_url, None, tmp_path, LINKPATROL_ALLOW_PRIVATE="1",
                                   LINKPATROL_MAIL_RETRY_MAX_DELAY="16", LINKPATROL_MAIL_ATTEMPTS="4"))
    hook = receiver.url("/hooks/linkpatrol?token=query-secret")
    crawl_id = crawl_with_one_dead_link(store, CrawlOptions(webhooks=[hook], webhook_secret=SECRET))
    job = ended_job(rq_conn, f"webhook-{crawl_id}-0")
    assert job.get_status() == JobStatus.FINISHED
    first, second, third = receiver.wait_for(3)

    # Retried after each 500 with growing waits, the same delivery id every time, delivered once.
    intervals = job.retry_intervals
    assert intervals[0] < intervals[1] < intervals[2]
    assert second.at - first.at >= intervals[0] * 0.8 - 0.2
    assert third.at - second.at >= intervals[1] * 0.8 - 0.2
    assert third.at - second.at > second.at - first.at
    delivery = first.headers["X-Linkpatrol-Delivery"]
    assert {r.headers["X-Linkpatrol-Delivery"] for r in (first, second, third)} == {delivery}
    assert [a["error"] for a in job.meta["attempts"]][:2] == [
        f"{receiver.url('/hooks/linkpatrol')}: answered HTTP 500 answer 500"] * 2
    assert job.meta["attempts"][2]["error"] is None
    assert third.path == "/hooks/linkpatrol?token=query-secret"

    # The signature is GitHub's: HMAC-SHA256 of the raw body with the secret.
    expected = "sha256=" + hmac.new(SECRET.encode(), third.body, hashlib.sha256).hexdigest()
    assert third.headers["X-Linkpatrol-Signature-256"] == expected
    assert third.headers["Content-Type"] == "application/json"

    data = json.loads(third.body)
    assert data["event"] == "crawl.ended"
    assert data["crawl"]["id"] == crawl_id and data["crawl"]["broken"] == 1 and data["crawl"]["state"] == "finished"
    assert "options" not in data["crawl"]  # they name the other webhooks
    assert data["diff"]["previous"] is None and data["diff"]["new"] == 0
    assert data["report_url"] == f"http://reports.test/crawls/{crawl_id}"
    assert data["text"].startswith("site.test: 1 dead link found;") and data["report_url"] in data["text"]

    # /jobs shows the target without its query string; the secret shows nowhere.
    client = make_app(redis_url).test_client()
    listed = client.get("/jobs.json").get_json()
    (view,) = [j for j in listed["jobs"]["finished"] if j["id"] == job.id]
    assert view["target"] == receiver.url("/hooks/linkpatrol") and view["attempt"] == 3
    page = client.get("/jobs").get_data(as_text=True)
    api = client.get(f"/api/crawls/{crawl_id}")
    report = client.get(f"/crawls/{crawl_id}")
    for shown in (page, json.dumps(listed), api.get_data(as_text=True), report.get_data(as_text=True),
                  worker.output()):
        assert SECRET not in shown and "query-secret" not in shown
    assert SECRET not in json.dumps(store.r.hgetall(store.keys.crawl(crawl_id)))  # kept apart, like headers
    assert api.get_json()["options"]["webhook_signed"] is True
    assert api.get_json()["options"]["webhook_targets"] == [receiver.url("/hooks/linkpatrol")]


def test_a_second_crawl_reports_its_diff_counts(store: CrawlStore, receiver: WebhookReceiver,
                                                mail_workers: Callable[..., WorkerProcess], rq_conn: redis.Redis,
                                                redis_url: str, tmp_path: Path) -> None:
    mail_workers(mail_env(redis_url, None, tmp_path, LINKPATROL_ALLOW_PRIVATE="1"))
    options = CrawlOptions(webhooks=[receiver.url("/a"), receiver.url("/b")])
    crawl_with_one_dead_link(store, options)
    pages = {SEED: FakePage(LinkResult(SEED, "ok", 200), [(f"{SEED}new", "new")], is_page=True),
             f"{SEED}new": FakePage(LinkResult(f"{SEED}new", "dead", 404))}
    second = run_crawl(store, SEED, pages, options)
    for n in (0, 1):
        assert ended_job(rq_conn, f"webhook-{second.id}-{n}").get_status() == JobStatus.FINISHED
    received = [json.loads(r.body) for r in receiver.wait_for(4)]
    latest = [d for d in received if d["crawl"]["id"] == second.id]
    assert len(latest) == 2  # one per URL, not signed (no secret)
    changed = latest[0]["diff"]
    assert (changed["new_failing"], changed["fixed_failing"]) == (1, 1)
    assert (changed["new_broken"], changed["fixed_broken"]) == (1, 1)  # the deprecated names, one release
    assert latest[0]["text"].startswith("site.test: 1 new dead link, 1 fixed;")
    assert not any("X-Linkpatrol-Signature-256" in r.headers for r in receiver.requests())


def test_refused_address_at_send_time_fails_with_a_clear_reason(store: CrawlStore, receiver: WebhookReceiver,
                                                                mail_workers: Callable[..., WorkerProcess],
                                                                rq_conn: redis.Redis, redis_url: str,
                                                                tmp_path: Path) -> None:
    """The record says localhost (a start message or a laxer web server could have written it); the
    worker, with the guard on, resolves the name, refuses the address and never connects."""
    mail_workers(mail_env(redis_url, None, tmp_path, LINKPATROL_ALLOW_PRIVATE=""))
    crawl_id = crawl_with_one_dead_link(store, CrawlOptions(webhooks=[f"http://localhost:{receiver.port}/hook"]))
    job = ended_job(rq_conn, f"webhook-{crawl_id}-0")
    assert job.get_status() == JobStatus.FAILED
    (attempt,) = job.meta["attempts"]
    assert attempt["permanent"]
    assert "localhost resolves to 127.0.0.1" in attempt["error"] and "address policy refuses" in attempt["error"]
    assert receiver.requests() == []
    client = make_app(redis_url).test_client()
    page = client.get("/jobs")
    assert page.status_code == 200 and "localhost resolves to 127.0.0.1" in page.get_data(as_text=True)


def test_the_api_and_the_options_refuse_bad_webhooks(redis_url: str) -> None:
    client = make_app(redis_url).test_client()  # the address policy is on
    for hooks, message in (
        (["http://127.0.0.1:9/hook"], "127.0.0.1 is a private or local address"),
        (["http://localhost/hook"], "localhost is a private or local address"),
        (["ftp://example.org/hook"], "is not an http or https URL"),
        (["https://user:pw@example.org/hook"], "a user name or password in the URL is not accepted"),
        ([f"https://example.org/{n}" for n in range(6)], "at most 5 URLs"),
        ("https://example.org/hook", "must be a list"),
    ):
        resp = client.post("/api/crawls", json={"url": "https://example.org/", "webhooks": hooks})
        assert resp.status_code == 400, hooks
        assert message in resp.get_data(as_text=True), (hooks, resp.get_data(as_text=True))
    resp = client.post("/api/crawls", json={"url": "https://example.org/", "notify_when": "sometimes"})
    assert resp.status_code == 400 and "always, problems, changes" in resp.get_data(as_text=True)
    resp = client.post("/api/crawls", json={"url": "https://example.org/", "webhooks": ["https://example.org/h"],
                                            "webhook_secret": SECRET, "notify_when": "changes"})
    assert resp.status_code in (201, 202), resp.get_data(as_text=True)
    assert SECRET not in resp.get_data(as_text=True)
    options = resp.get_json()["options"]
    assert options["webhook_targets"] == ["https://example.org/h"] and options["webhook_signed"] is True
    assert options["notify_when"] == "changes" and "webhook_secret" not in options
    with pytest.raises(InvalidOption, match="webhook_secret: may hold printable ASCII"):
        parse_options({"webhook_secret": "line\nbreak"})


def test_deliver_does_not_follow_a_redirect_and_retries_only_what_may_pass(receiver: WebhookReceiver) -> None:
    allow = AddressPolicy(allow_private=True)
    receiver.script = [302, 404, 429, 204]
    with pytest.raises(PermanentWebhookError, match="a redirect, not followed"):
        deliver(receiver.url("/h"), b"{}", {}, allow)
    with pytest.raises(PermanentWebhookError, match="answered HTTP 404"):
        deliver(receiver.url("/h"), b"{}", {}, allow)
    with pytest.raises(TransientWebhookError, match="answered HTTP 429"):
        deliver(receiver.url("/h"), b"{}", {}, allow)
    assert deliver(receiver.url("/h"), b"{}", {}, allow).status == 204
    with pytest.raises(PermanentWebhookError, match="address policy refuses"):
        deliver(receiver.url("/h"), b"{}", {}, AddressPolicy())
    assert len(receiver.requests()) == 4


def test_enqueue_takes_notify_when_and_webhooks(redis_url: str, store: CrawlStore) -> None:
    from tests.support.processes import linkpatrol_cli

    for command in (["enqueue"], ["schedule", "add"]):
        args = [*command, "https://example.org/", "--webhook", "http://127.0.0.1:9/h"]
        refused = linkpatrol_cli(redis_url, *args, *(["--every", "1d"] if "schedule" in command else []))
        assert refused.returncode == 2 and "--webhook: 127.0.0.1 is a private or local address" in refused.stderr
    assert store.count() == 0 and "example.org" not in linkpatrol_cli(redis_url, "schedule", "list").stdout
    done = linkpatrol_cli(redis_url, "enqueue", "https://example.org/", "--notify-when", "changes",
                          "--webhook", "https://hooks.example.org/x?token=t")
    assert done.returncode == 0, done.stderr
    crawl = store.require(done.stdout.strip())
    assert crawl.options.notify_when == "changes" and crawl.options.webhooks == ["https://hooks.example.org/x?token=t"]
    status = linkpatrol_cli(redis_url, "status", crawl.id)
    assert "token=t" not in status.stdout
    assert json.loads(status.stdout)["options"]["webhook_targets"] == ["https://hooks.example.org/x"]


def test_deliver_verifies_tls_through_the_checked_address(site: SiteServer) -> None:
    """The connection goes to the address that was checked, and TLS still checks the certificate
    (the fixture's https site is self-signed)."""
    with pytest.raises(PermanentWebhookError, match="TLS certificate not trusted"):
        deliver(f"https://127.0.0.1:{site.ports['tls']}/", b"{}", {}, AddressPolicy(allow_private=True))
