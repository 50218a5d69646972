"""#fragments of a url that redirects are checked against the page it lands on, and referrer counts
are true past the kept sample: LINKS and COMPLETE straight through ``linkpatrol.frontier.Scripts``
against the private Redis."""

from __future__ import annotations

from typing import Any

from linkpatrol.frontier import SETTLING, WANT_BATCH, Scripts
from linkpatrol.model.verdicts import Outcome
from linkpatrol.model.wire import Completion, FoundLink, FrontierMessage, LinkResult, MessageKind, Referrer
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from tests.support.frontier import NOW, SITE, Client


def started(store: CrawlStore, rclient: Client, scripts: Scripts) -> str:
    """A running crawl of SITE whose home page is leased."""
    crawl = store.create(SITE + "/")
    assert rclient.lpop(store.keys.start) is not None
    assert scripts.seed(crawl.id, SITE + "/", NOW) == 1
    assert len(scripts.pop(crawl.id, 1, "w0")) == 1
    return crawl.id


def link(path: str, anchor: str = "", on: str = "/", text: str = "") -> FoundLink:
    url = SITE + path
    return FoundLink(url, FrontierMessage(url, MessageKind.PAGE, 1),
                     Referrer(SITE + on, text or f"{path}#{anchor}", "a", anchor), anchor)


def page(crawl_id: str, path: str, links: list[FoundLink] | None = None, anchors: set[str] | None = None,
         outcome: Outcome = Outcome.OK, status: int = 200) -> Completion:
    return Completion(crawl_id, LinkResult(SITE + path, outcome, status=status, content_type="text/html"),
                      True, links or [], anchors=anchors)


def redirected(crawl_id: str, path: str, to: str) -> Completion:
    """``path`` answered 301 to ``to``, a page of the site: queued in its place, as the spider does."""
    hops: list[list[Any]] = [[SITE + path, 301]]
    result = LinkResult(SITE + path, Outcome.OK, status=200, final_url=SITE + to, redirects=hops,
                        content_type="text/html")
    landing = SITE + to
    return Completion(crawl_id, result, True, [FoundLink(landing, FrontierMessage(landing, MessageKind.PAGE, 1))])


def record(scripts: Scripts, done: Completion, max_referrers: int = 1000) -> int:
    return int(scripts.complete(done, now=NOW + 1, max_referrers=max_referrers))


def lease_all(scripts: Scripts, crawl_id: str) -> None:
    scripts.pop(crawl_id, 1000, "w0")


def missing_rows(store: CrawlStore, crawl_id: str) -> dict[str, tuple[str | None, list[str]]]:
    """Each missing anchor: its landing page (``final_url``) and the pages its referrers are on."""
    return {res.url: (res.final_url, [r.page for r in res.referrers])
            for res in store.problems(crawl_id, (Outcome.MISSING_ANCHOR,))}


def open_questions(rclient: Client, keys: Keys, crawl_id: str) -> list[str]:
    return list(rclient.keys(f"{keys.wanted_prefix(crawl_id)}*"))


def test_fragments_asked_before_the_redirect_are_decided_by_the_landing_page(
        store: CrawlStore, rclient: Client, scripts: Scripts, keys: Keys) -> None:
    crawl_id = started(store, rclient, scripts)
    record(scripts, page(crawl_id, "/", [link("/old", "sec"), link("/old2", "sec")]))
    lease_all(scripts, crawl_id)
    record(scripts, redirected(crawl_id, "/old", "/new"))
    record(scripts, redirected(crawl_id, "/old2", "/new2"))
    assert missing_rows(store, crawl_id) == {}  # nothing decided before the landing pages are read
    lease_all(scripts, crawl_id)
    record(scripts, page(crawl_id, "/new", anchors={"other"}))
    assert record(scripts, page(crawl_id, "/new2", anchors={"sec"})) == 2
    # The row names the link as written and where it landed; the referrers are the linking pages'.
    assert missing_rows(store, crawl_id) == {f"{SITE}/old#sec": (f"{SITE}/new", [f"{SITE}/"])}
    row = store.result(crawl_id, f"{SITE}/old#sec")
    assert row is not None and row.redirects == [[f"{SITE}/old", 301]] and row.error == "missing_anchor"
    crawl = store.require(crawl_id)
    assert crawl.outcome_count(Outcome.MISSING_ANCHOR) == 1 and crawl.state == "finished"
    assert not rclient.exists(keys.refs(crawl_id, f"{SITE}/old2#sec")), "a found anchor keeps no referrers"
    assert open_questions(rclient, keys, crawl_id) == []


def test_fragments_asked_after_the_redirect_wait_for_or_use_the_landing_page(
        store: CrawlStore, rclient: Client, scripts: Scripts, keys: Keys) -> None:
    crawl_id = started(store, rclient, scripts)
    record(scripts, page(crawl_id, "/", [link("/old"), link("/p"), link("/q")]))
    lease_all(scripts, crawl_id)
    record(scripts, redirected(crawl_id, "/old", "/new"))  # /new queued, not read yet
    record(scripts, page(crawl_id, "/p", [link("/old", "sec", on="/p"), link("/old", "here", on="/p")]))
    assert rclient.scard(keys.wanted_prefix(crawl_id) + f"{SITE}/new") == 2  # asked of the landing page
    lease_all(scripts, crawl_id)
    record(scripts, page(crawl_id, "/new", anchors={"here"}))
    assert missing_rows(store, crawl_id) == {f"{SITE}/old#sec": (f"{SITE}/new", [f"{SITE}/p"])}
    # Asked once the landing page is read: decided at once, the same row, one more referrer.
    record(scripts, page(crawl_id, "/q", [link("/old", "sec", on="/q"), link("/old", "here", on="/q"),
                                          link("/old", "gone", on="/q")]))
    assert missing_rows(store, crawl_id) == {f"{SITE}/old#sec": (f"{SITE}/new", [f"{SITE}/p", f"{SITE}/q"]),
                                             f"{SITE}/old#gone": (f"{SITE}/new", [f"{SITE}/q"])}
    assert store.require(crawl_id).state == "finished"
    assert open_questions(rclient, keys, crawl_id) == []


def test_a_landing_page_not_read_for_anchors_leaves_the_fragment_unchecked(
        store: CrawlStore, rclient: Client, scripts: Scripts, keys: Keys) -> None:
    """Dead, not HTML, or redirecting in turn: the questions handed on are dropped with their referrers."""
    crawl_id = started(store, rclient, scripts)
    record(scripts, page(crawl_id, "/", [link("/a", "x"), link("/b", "x"), link("/c", "x")]))
    lease_all(scripts, crawl_id)
    record(scripts, redirected(crawl_id, "/a", "/a-dead"))
    record(scripts, redirected(crawl_id, "/b", "/b-pdf"))
    record(scripts, redirected(crawl_id, "/c", "/c-moved"))
    lease_all(scripts, crawl_id)
    record(scripts, page(crawl_id, "/a-dead", outcome=Outcome.DEAD, status=404))
    record(scripts, Completion(crawl_id, LinkResult(f"{SITE}/b-pdf", Outcome.OK, status=200,
                                                    content_type="application/pdf")))
    record(scripts, redirected(crawl_id, "/c-moved", "/c-final"))  # handed on once only
    lease_all(scripts, crawl_id)
    assert record(scripts, page(crawl_id, "/c-final", anchors={"y"})) == 2
    assert missing_rows(store, crawl_id) == {}
    assert not rclient.keys(f"{keys.refs_prefix(crawl_id)}*#x")
    assert open_questions(rclient, keys, crawl_id) == []


def test_many_fragments_of_a_redirect_are_handed_on_in_bounded_calls(
        store: CrawlStore, rclient: Client, scripts: Scripts, keys: Keys) -> None:
    asked = 3 * WANT_BATCH + 7
    crawl_id = started(store, rclient, scripts)
    record(scripts, page(crawl_id, "/", [link("/old", f"a{n}") for n in range(asked)] + [link("/p")]))
    lease_all(scripts, crawl_id)
    old = redirected(crawl_id, "/old", "/new")
    steps = scripts.completion_steps(old, now=NOW + 1, max_referrers=10, until_recorded=False)
    for step in steps[:-1]:
        step()
    assert steps[-1]() == SETTLING
    # Meanwhile another page asks of /old: handed on at once, not added to the set being settled.
    record(scripts, page(crawl_id, "/p", [link("/old", "late", on="/p")]))
    while (answer := steps[-1]()) == SETTLING:
        pass
    assert answer == 1
    assert rclient.scard(keys.wanted_prefix(crawl_id) + f"{SITE}/new") == asked + 1
    lease_all(scripts, crawl_id)
    assert record(scripts, page(crawl_id, "/new", anchors={f"a{n}" for n in range(0, asked, 2)})) == 2
    rows = missing_rows(store, crawl_id)
    assert set(rows) == {f"{SITE}/old#a{n}" for n in range(1, asked, 2)} | {f"{SITE}/old#late"}
    assert rows[f"{SITE}/old#late"] == (f"{SITE}/new", [f"{SITE}/p"])
    assert open_questions(rclient, keys, crawl_id) == []


def test_another_hosts_page_read_after_a_redirect_names_where_it_landed(
        store: CrawlStore, rclient: Client, scripts: Scripts) -> None:
    """``check_fragments: all``: the spider reads the anchors of the page another host's link lands on."""
    crawl_id = started(store, rclient, scripts)
    ext = "http://other.example/moved"
    record(scripts, page(crawl_id, "/", [
        FoundLink(ext, FrontierMessage(ext, MessageKind.CHECK, 1), Referrer(f"{SITE}/", "t", "a", "gone"), "gone")]))
    lease_all(scripts, crawl_id)
    result = LinkResult(ext, Outcome.OK, status=200, final_url="http://other.example/here",
                        redirects=[[ext, 302]], external=True)
    assert record(scripts, Completion(crawl_id, result, anchors={"kept"})) == 2
    assert missing_rows(store, crawl_id) == {f"{ext}#gone": ("http://other.example/here", [f"{SITE}/"])}


def test_referrer_counts_are_true_past_the_kept_sample(store: CrawlStore, rclient: Client, scripts: Scripts,
                                                      keys: Keys) -> None:
    kept, pages = 3, 8
    crawl_id = started(store, rclient, scripts)
    record(scripts, page(crawl_id, "/", [link(f"/p{i}") for i in range(pages)] + [link("/gone"), link("/fine"),
                                                                                  link("/doc")]), kept)
    lease_all(scripts, crawl_id)
    for i in range(pages):  # every page links the dead one, the fine one and a missing #anchor
        record(scripts, page(crawl_id, f"/p{i}", [link("/gone", on=f"/p{i}"), link("/fine", on=f"/p{i}"),
                                                  link("/doc", "nope", on=f"/p{i}")]), kept)
    assert rclient.hget(keys.refs_over(crawl_id), f"{SITE}/fine") == str(pages + 1 - kept)
    record(scripts, page(crawl_id, "/gone", outcome=Outcome.DEAD, status=404), kept)
    record(scripts, page(crawl_id, "/fine", anchors=set()), kept)
    assert record(scripts, page(crawl_id, "/doc", anchors={"yes"}), kept) == 2
    [(gone_count, gone_refs), (doc_count, doc_refs)] = store.referrers(crawl_id, [f"{SITE}/gone", f"{SITE}/doc#nope"])
    assert (gone_count, len(gone_refs)) == (pages + 1, kept)  # the home page and every /pN
    assert (doc_count, len(doc_refs)) == (pages, kept)
    assert store.referrer_counts(crawl_id, [f"{SITE}/gone", f"{SITE}/doc#nope", f"{SITE}/fine"]) == [
        pages + 1, pages, 0]
    gone = store.result(crawl_id, f"{SITE}/gone")
    assert gone is not None and gone.referrer_count == pages + 1
    # An ok url keeps neither its referrers nor their count; deleting the crawl removes the counts.
    assert set(rclient.hkeys(keys.refs_over(crawl_id))) == {f"{SITE}/gone", f"{SITE}/doc#nope"}
    assert store.delete(crawl_id)
    assert not rclient.exists(keys.refs_over(crawl_id)) and not rclient.exists(keys.landed(crawl_id))
