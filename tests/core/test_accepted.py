"""A site's accepted links (``linkpatrol.reports.accepted``): kept per site and bounded, matched exactly against a
crawl's problems when they are read, left out of the counts and of the diff (neither new nor fixed), and
honoured by a ``linkpatrol check`` crawl through its ``--site-url``."""

from __future__ import annotations

import pytest

from linkpatrol.model.options import CrawlOptions, InvalidOption
from linkpatrol.model.records import Crawl, Origin
from linkpatrol.model.verdicts import Outcome
from linkpatrol.model.wire import LinkResult
from linkpatrol.reports import accepted as accepted_module
from linkpatrol.reports import results
from linkpatrol.reports.accepted import AcceptedLinks, TooManyAccepted, crawl_site, link_url, site_url
from linkpatrol.reports.diff import diff
from linkpatrol.store.crawls import CrawlStore
from tests.support.fake_crawl import FakePage, run_crawl

SITE = "https://site.example/"


def crawl_of(store: CrawlStore, results: dict[str, LinkResult], seed: str = SITE,
             anchors: list[str] = ()) -> Crawl:  # type: ignore[assignment]
    """A finished crawl: a home page linking to every url of ``results`` (and to ``anchors``,
    ``url#name`` links to its own ids, none of which exist)."""
    pages = {url: FakePage(res) for url, res in results.items()}
    links = [(url, f"to {url}") for url in results] + [(a, "anchor") for a in anchors]
    pages[seed] = FakePage(LinkResult(seed, "ok", 200, content_type="text/html"), links, True, anchors=set())
    done = run_crawl(store, seed, pages)
    assert done.state == "finished"
    return done


def dead(url: str, status: int = 404) -> LinkResult:
    return LinkResult(url, Outcome.DEAD, status)


def test_urls_are_kept_as_the_crawls_record_them() -> None:
    assert site_url("HTTPS://Site.Example") == SITE
    assert link_url(" https://Site.Example/a/../b#Part ") == "https://site.example/b#Part"
    assert link_url("http://exa mple.org/x") == "http://exa mple.org/x"  # an invalid-url row, as written
    for bad in ("", "   ", None, 3, "https://site.example/\nx", "x" * 5000):
        with pytest.raises(InvalidOption) as exc:
            link_url(bad)
        assert exc.value.field == "url"
    with pytest.raises(InvalidOption, match="site: the URL needs a scheme"):
        site_url("site.example")


def test_accept_list_update_and_undo(store: CrawlStore) -> None:
    links = AcceptedLinks(store)
    link, created = links.accept(SITE, "https://site.example/old", "alice", "  moved \n for good ", at=100.0)
    assert created and link.note == "moved for good" and link.by == "alice"
    again, created = links.accept(SITE, "https://site.example/old", "bob", "new note", at=200.0)
    assert not created and links.get(SITE, "https://site.example/old") == again
    links.accept(SITE, "https://site.example/other", at=150.0)
    assert [(a.url, a.by, a.at) for a in links.list(SITE)] == [
        ("https://site.example/old", "bob", 200.0), ("https://site.example/other", "", 150.0)]
    assert links.list("https://elsewhere.example/") == []  # per site
    with pytest.raises(InvalidOption, match="note: at most 500"):
        links.accept(SITE, "https://site.example/x", note="n" * 501)
    assert links.remove(SITE, "https://site.example/old") and not links.remove(SITE, "https://site.example/old")
    assert links.count(SITE) == 1


def test_a_site_keeps_at_most_max_accepted(store: CrawlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accepted_module, "MAX_ACCEPTED", 3)
    links = AcceptedLinks(store)
    for i in range(3):
        links.accept(SITE, f"https://site.example/{i}")
    with pytest.raises(TooManyAccepted):
        links.accept(SITE, "https://site.example/one-more")
    links.accept(SITE, "https://site.example/1", note="an accepted one's note can still change")
    assert links.count(SITE) == 3


def test_in_crawl_counts_only_the_crawls_problems_exactly(store: CrawlStore) -> None:
    crawl = crawl_of(store, {"https://site.example/gone": dead("https://site.example/gone"),
                             "https://site.example/kept": dead("https://site.example/kept", 410),
                             "https://x.example/no": LinkResult("https://x.example/no", Outcome.BLOCKED, 403),
                             "https://site.example/fine": LinkResult("https://site.example/fine", "ok", 200)},
                     anchors=[f"{SITE}#install", f"{SITE}#usage"])
    assert crawl.dead == 2 and crawl.outcome_count(Outcome.MISSING_ANCHOR) == 2
    links = AcceptedLinks(store)
    assert links.in_crawl(crawl).total == 0
    for url in ("https://site.example/gone", f"{SITE}#install", "https://x.example/no",
                "https://site.example/fine",  # alive in this crawl: nothing to leave out
                "https://site.example/kept#part"):  # a fragment names another row than the page's
        links.accept(SITE, url, "alice")
    seen = links.in_crawl(crawl)
    assert sorted(seen.urls) == [f"{SITE}#install", "https://site.example/gone", "https://x.example/no"]
    assert seen.counts == {"dead": 1, "missing_anchor": 1, "blocked": 1}
    counts = results.counts(crawl, seen)
    assert counts["dead"] == 1 and counts["other"] == 0
    assert seen.outcome_counts(crawl)[Outcome.MISSING_ANCHOR] == 1
    assert seen.links["https://site.example/gone"].by == "alice"
    kept, known = seen.split(store.problems(crawl.id, (Outcome.DEAD, Outcome.MISSING_ANCHOR)))
    assert [r.url for r in kept] == [f"{SITE}#usage", "https://site.example/kept"]
    assert [r.url for r in known] == [f"{SITE}#install", "https://site.example/gone"]


def test_the_diff_counts_an_accepted_link_neither_new_nor_fixed(store: CrawlStore) -> None:
    a, b, c = (f"https://site.example/{n}" for n in "abc")
    crawl_of(store, {a: dead(a), b: dead(b), c: LinkResult(c, "ok", 200)})
    now = crawl_of(store, {a: LinkResult(a, "ok", 200), b: dead(b), c: dead(c)})
    before = diff(store, now)
    assert [r.url for r in before.fixed] == [a] and [r.url for r in before.new] == [c]
    links = AcceptedLinks(store)
    links.accept(SITE, a)  # dead before, working now: not "fixed"
    links.accept(SITE, c)  # working before, dead now: not "new"
    changes = diff(store, now)
    assert changes.fixed == [] and changes.new == [] and [r.url for r in changes.still] == [b]
    assert changes.fixed_failing == 0 and changes.new_failing == 0
    assert [r.url for r in changes.accepted.results] == [c]  # the crawl's own accepted problems
    links.remove(SITE, c)
    assert [r.url for r in diff(store, now).new] == [c]  # undone: new again


def test_a_check_crawl_honours_the_links_accepted_at_its_site_url(store: CrawlStore) -> None:
    local, production = "http://127.0.0.1:8123/docs/", "https://example.org/docs/"
    gone = f"{local}gone.html"
    options = CrawlOptions(remap={production: local})
    pages = {local: FakePage(LinkResult(local, "ok", 200, content_type="text/html"), [(gone, "Gone")], True),
             gone: FakePage(dead(gone))}
    crawl = store.require(run_crawl(store, local, pages, options).id)
    store.r.hset(store.keys.crawl(crawl.id), "origin", str(Origin.CHECK))  # as check's crawls are marked
    crawl = store.require(crawl.id)
    assert crawl_site(crawl) == (production, production, local)
    AcceptedLinks(store).accept(production, f"{production}gone.html")
    seen = AcceptedLinks(store).in_crawl(crawl)
    assert [r.url for r in seen.results] == [gone] and seen.site == production
