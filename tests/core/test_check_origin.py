"""The crawls ``linkpatrol check`` makes on a shared service: marked in their record, listed apart from
the sites' crawls, in no site's history, and kept to ``LINKPATROL_KEEP_CRAWLS`` of their own."""

from __future__ import annotations

import json

import pytest
import redis

from linkpatrol.cli.main import main
from linkpatrol.model.records import CrawlState, Origin
from linkpatrol.store.crawls import CrawlStore

SITE = "https://example.org/"
FOLDER = "http://127.0.0.1:39181/"  # what check DIR crawls: a temporary server on loopback


def ended_check(store: CrawlStore, url: str = FOLDER) -> str:
    crawl = store.create(url, origin=Origin.CHECK)
    store.cancel(crawl.id)
    return crawl.id


def test_the_record_says_what_made_the_crawl(store: CrawlStore, rclient: redis.Redis) -> None:
    check = store.create(FOLDER, origin=Origin.CHECK)
    plain = store.create(SITE)
    assert rclient.hget(store.keys.crawl(check.id), "origin") == "check"
    assert store.require(check.id).origin == "check" and store.require(check.id).by_check
    assert store.require(check.id).to_dict()["origin"] == "check"  # linkpatrol status / list
    # a record written before crawls said what made them (or by a path that does not say) is a site's
    assert store.require(plain.id).origin == "" and store.require(plain.id).to_dict()["origin"] is None
    assert not store.require(plain.id).by_check


def test_enqueue_marks_its_crawls_and_list_filters(redis_url: str, store: CrawlStore,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    check = store.create(FOLDER, origin=Origin.CHECK)
    assert main(["enqueue", SITE]) == 0
    enqueued = capsys.readouterr().out.strip()
    assert store.require(enqueued).origin == "cli"

    def listed(*args: str) -> list[str]:
        assert main(["list", *args]) == 0
        return [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()]

    assert listed() == [enqueued, check.id]
    assert listed("--origin", "check") == [check.id] and listed("--origin", "other") == [enqueued]


def test_a_check_crawl_is_no_site(store: CrawlStore) -> None:
    site_crawl = store.create(SITE)
    store.cancel(site_crawl.id)
    folder = store.create(FOLDER, origin=Origin.CHECK)
    of_the_site = store.create(SITE, origin=Origin.CHECK)  # check URL of a site the service watches
    assert [s.url for s in store.sites()] == [SITE] and store.site_count() == 1
    assert [s.crawls for s in store.sites()] == [1]  # the check of the same URL is not in its history
    assert [c.id for c in store.site_crawls(SITE)] == [site_crawl.id] and store.site_crawls(FOLDER) == []
    assert store.sites()[0].last is not None and store.sites()[0].last.id == site_crawl.id
    # the lists: every crawl, only check's, every other
    assert [c.id for c in store.list()] == [of_the_site.id, folder.id, site_crawl.id] and store.count() == 3
    assert [c.id for c in store.list(checks=True)] == [of_the_site.id, folder.id] and store.count(True) == 2
    assert [c.id for c in store.list(checks=False)] == [site_crawl.id] and store.count(False) == 1
    assert [c.id for c in store.list(1, 1)] == [folder.id] and [c.id for c in store.list(2, 5)] == [site_crawl.id]
    # deleting one takes it out of its list; the site is untouched
    assert store.delete(folder.id)
    assert [c.id for c in store.list(checks=True)] == [of_the_site.id] and store.site_count() == 1


def test_check_crawls_keep_the_newest_n_of_their_own(rclient: redis.Redis) -> None:
    store = CrawlStore(rclient, keep_crawls=2)
    site_crawls = []
    for _ in range(3):
        crawl = store.create(SITE)
        store.cancel(crawl.id)
        site_crawls.append(crawl.id)
    running = store.create(FOLDER, origin=Origin.CHECK)  # never deleted while it runs
    checks = [ended_check(store, f"http://127.0.0.1:{40000 + i}/") for i in range(3)]
    assert [c.id for c in store.list(checks=True)] == [checks[2], checks[1], running.id]
    assert store.get(checks[0]) is None and store.require(running.id).state == CrawlState.QUEUED
    # the sites' retention is their own: the site kept its newest 2, whatever check did
    assert [c.id for c in store.site_crawls(SITE)] == [site_crawls[2], site_crawls[1]]
