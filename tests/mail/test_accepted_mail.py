"""The report mail and the webhook of a site with accepted links (``linkpatrol.reports.accepted``): an accepted
link is never in the mail's list of dead links, leaves the summary's counts for a line of its own, and
the webhook's text counts it apart; a link nobody accepted is listed as before."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from pathlib import Path

import redis
from flask.testing import FlaskClient
from rq import SimpleWorker

from linkpatrol.model.verdicts import OTHER_LABEL
from linkpatrol.reports.accepted import AcceptedLinks
from linkpatrol.reports.diff import diff
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from linkpatrol.watch.webhooks import payload
from tests.support.smtp import body
from tests.support.webapp import SITE, finished_crawl
from web.notifications.mail.message import ACCEPTED_LABEL
from web.notifications.queue import mail_queue

DEAD, OTHER = 5, 5  # what finished_crawl(every_outcome=True) holds, with 1 missing anchor
ACCEPTED = (f"{SITE}/missing", f"{SITE}/about#team", "https://other.example/forbidden")  # dead, anchor, blocked


def test_the_mail_lists_no_accepted_link_and_counts_them_apart(store: CrawlStore, rq_conn: redis.Redis,
                                                             outbox_client: tuple[FlaskClient, Path]) -> None:
    client, outbox = outbox_client
    crawl = finished_crawl(store, every_outcome=True)
    for url in ACCEPTED:
        AcceptedLinks(store).accept(crawl.url, url, "alice")

    resp = client.post(f"/crawls/{crawl.id}/mail", data={"to": "owner@example.org"})
    assert resp.status_code == 303
    SimpleWorker([mail_queue(rq_conn, Keys())], connection=rq_conn).work(burst=True)
    (eml,) = outbox.glob("*.eml")
    msg = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert msg["Subject"] == f"site.example: {DEAD - 1} dead links found"
    text = body(msg, "plain")
    assert f"Dead links: {DEAD - 1}\n" in text and "Missing anchors: 0\n" in text
    assert f"{OTHER_LABEL}: {OTHER - 1}\n" in text and f"{ACCEPTED_LABEL}: 3\n" in text
    listed = text.split("Full report:", 1)[1]
    assert f"{SITE}/missing " not in listed and f"{SITE}/about#team" not in listed  # counted, never listed
    assert f"{SITE}/hostile " in listed  # a dead link nobody accepted still is
    html = body(msg, "html")
    assert f'href="{SITE}/missing"' not in html
    assert re.search(rf"<th[^>]*>{re.escape(ACCEPTED_LABEL)}</th><td>3</td>", html)


def test_the_webhook_counts_accepted_links_apart(store: CrawlStore) -> None:
    crawl = finished_crawl(store, every_outcome=True)
    AcceptedLinks(store).accept(crawl.url, f"{SITE}/missing")
    changes = diff(store, crawl)
    body = payload(crawl, changes, "http://lp.example/crawls/x", "d1")
    assert body["text"].startswith(f"site.example: {DEAD - 1} dead links found;")
    assert f"{DEAD - 1 + 1} broken in all (1 accepted, not counted)." in body["text"]  # and the missing anchor
    assert body["diff"]["accepted"] == 1 and body["diff"]["accepted_by_outcome"] == {"dead": 1}
