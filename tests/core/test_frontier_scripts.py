"""The frontier's Lua scripts on their own, against the test Redis: SEED, POP, COMPLETE, CANCEL and
REQUEUE through ``linkpatrol.frontier.Scripts``, reading the keys ``linkpatrol.store.keys`` spells."""

from __future__ import annotations

import json

import pytest

from linkpatrol.frontier import Scripts
from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.verdicts import Outcome
from linkpatrol.model.wire import Completion, FoundLink, FrontierMessage, LinkResult, MessageKind, Referrer
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from tests.support.frontier import NOW, SITE, Client


def new_crawl(store: CrawlStore, rclient: Client, options: CrawlOptions | None = None) -> str:
    """A queued crawl of SITE; the start message ``create`` pushes for the crawlers is dropped."""
    crawl = store.create(f"{SITE}/", options)
    assert rclient.lpop(store.keys.start) is not None
    return crawl.id


def started(store: CrawlStore, rclient: Client, scripts: Scripts, options: CrawlOptions | None = None) -> str:
    """A running crawl of SITE whose seed page is leased to worker w0."""
    crawl_id = new_crawl(store, rclient, options)
    assert scripts.seed(crawl_id, f"{SITE}/", NOW) == 1
    assert len(scripts.pop(crawl_id, 1, "w0")) == 1
    return crawl_id


def page(path: str, depth: int = 1, ref: Referrer | None = None) -> FoundLink:
    url = SITE + path
    return FoundLink(url, FrontierMessage(url, MessageKind.PAGE, depth), ref)


def check(url: str, depth: int = 1, ref: Referrer | None = None) -> FoundLink:
    return FoundLink(url, FrontierMessage(url, MessageKind.CHECK, depth), ref)


def ref(page_path: str = "/", text: str = "a link") -> Referrer:
    return Referrer(SITE + page_path, text, "a", "")


def done(crawl_id: str, url: str, outcome: Outcome = Outcome.OK, status: int | None = 200, *,
         is_page: bool = False, links: list[FoundLink] | None = None, redirects: list[list[object]] | None = None,
         ) -> Completion:
    return Completion(crawl_id, LinkResult(url, outcome, status=status, redirects=redirects or []), is_page,
                      links or [])


def complete(scripts: Scripts, completion: Completion, max_referrers: int = 1000) -> int:
    return int(scripts.complete(completion, now=NOW + 1, max_referrers=max_referrers))


def queued(rclient: Client, keys: Keys, crawl_id: str) -> list[FrontierMessage]:
    return [FrontierMessage.decode(m) for m in rclient.lrange(keys.queue(crawl_id), 0, -1)]


def record(rclient: Client, keys: Keys, crawl_id: str) -> dict[str, str]:
    return dict(rclient.hgetall(keys.crawl(crawl_id)))


# -- SEED -----------------------------------------------------------------------------------------------
def test_seed_starts_a_queued_crawl_once(store: CrawlStore, rclient: Client, scripts: Scripts,
                                         keys: Keys) -> None:
    crawl_id = new_crawl(store, rclient)
    assert scripts.seed(crawl_id, f"{SITE}/", NOW) == 1
    rec = record(rclient, keys, crawl_id)
    assert rec["state"] == "running" and float(rec["started_at"]) == NOW
    assert queued(rclient, keys, crawl_id) == [FrontierMessage(f"{SITE}/", MessageKind.PAGE, 0)]
    assert rclient.hgetall(keys.urls(crawl_id)) == {f"{SITE}/": ""}
    assert rclient.smembers(keys.active) == {crawl_id}
    assert scripts.seed(crawl_id, f"{SITE}/", NOW + 5) == 0  # a second start message changes nothing
    assert len(queued(rclient, keys, crawl_id)) == 1
    assert float(record(rclient, keys, crawl_id)["started_at"]) == NOW


def test_seed_leaves_a_cancelled_or_missing_crawl_alone(store: CrawlStore, rclient: Client,
                                                        scripts: Scripts, keys: Keys) -> None:
    crawl_id = new_crawl(store, rclient)
    assert store.cancel(crawl_id)
    assert scripts.seed(crawl_id, f"{SITE}/", NOW) == 0
    assert record(rclient, keys, crawl_id)["state"] == "cancelled"
    assert not rclient.exists(keys.queue(crawl_id), keys.urls(crawl_id))
    assert not rclient.sismember(keys.active, crawl_id)
    assert scripts.seed("nosuchcrawl", f"{SITE}/", NOW) == 0
    assert not rclient.exists(keys.crawl("nosuchcrawl"))


# -- POP ------------------------------------------------------------------------------------------------
def test_pop_leases_to_the_worker(store: CrawlStore, rclient: Client, scripts: Scripts, keys: Keys) -> None:
    crawl_id = started(store, rclient, scripts)
    complete(scripts, done(crawl_id, f"{SITE}/", is_page=True, links=[page("/a"), page("/b"), check("http://x.example/")]))
    got = scripts.pop(crawl_id, 2, "w1")
    assert [FrontierMessage.decode(m).url for m in got] == [f"{SITE}/a", f"{SITE}/b"]
    inflight = rclient.hgetall(keys.inflight(crawl_id))
    assert inflight == {f"{SITE}/a": f"w1\n{got[0]}", f"{SITE}/b": f"w1\n{got[1]}"}
    assert [m.url for m in queued(rclient, keys, crawl_id)] == ["http://x.example/"]
    last = check("http://x.example/").message.encode()
    assert scripts.pop(crawl_id, 10, "w2") == [last]  # fewer than asked for: what is left
    assert rclient.hget(keys.inflight(crawl_id), "http://x.example/") == f"w2\n{last}"
    assert scripts.pop(crawl_id, 10, "w2") == []  # an empty queue
    assert rclient.hlen(keys.inflight(crawl_id)) == 3


def test_a_lease_is_found_by_the_url_complete_gets(store: CrawlStore, rclient: Client, scripts: Scripts,
                                                   keys: Keys) -> None:
    # An unusable link travels raw (reported at once as invalid): the lease's field must still be that
    # exact string, or COMPLETE would leave it in flight and the crawl would never end.
    raw = 'http://[bad/ü "quoted" \\ \u2028'
    crawl_id = started(store, rclient, scripts)
    link = FoundLink(raw, FrontierMessage(raw, MessageKind.INVALID_URL, 1), ref())
    complete(scripts, done(crawl_id, f"{SITE}/", is_page=True, links=[link]))
    assert scripts.pop(crawl_id, 1, "w1") == [link.message.encode()]
    assert rclient.hkeys(keys.inflight(crawl_id)) == [raw]
    assert complete(scripts, done(crawl_id, raw, Outcome.DEAD, None)) == 2
    assert rclient.lrange(keys.refs(crawl_id, raw), 0, -1) == [ref().encode()]


def test_pop_gives_nothing_unless_running(store: CrawlStore, rclient: Client, scripts: Scripts,
                                          keys: Keys) -> None:
    crawl_id = new_crawl(store, rclient)
    rclient.rpush(keys.queue(crawl_id), FrontierMessage(f"{SITE}/", MessageKind.PAGE).encode())
    assert scripts.pop(crawl_id, 5, "w1") == []  # queued, not started yet
    assert rclient.llen(keys.queue(crawl_id)) == 1
    rclient.hset(keys.crawl(crawl_id), "state", "cancelled")
    assert scripts.pop(crawl_id, 5, "w1") == []
    assert scripts.pop("nosuchcrawl", 5, "w1") == []
    assert not rclient.exists(keys.inflight(crawl_id), keys.inflight("nosuchcrawl"))


# -- COMPLETE -------------------------------------------------------------------------------------------
def test_complete_records_counts_and_queues(store: CrawlStore, rclient: Client, scripts: Scripts,
                                            keys: Keys) -> None:
    crawl_id = started(store, rclient, scripts)
    links = [page("/a", ref=ref(text="A")), check("http://x.example/i.png", ref=ref(text="img")),
             page("/a", ref=ref(text="A again")), page("/", ref=ref(text="home"))]
    assert complete(scripts, done(crawl_id, f"{SITE}/", is_page=True, links=links)) == 1
    stored = LinkResult.from_json(f"{SITE}/", rclient.hget(keys.urls(crawl_id), f"{SITE}/"))
    assert stored == LinkResult(f"{SITE}/", Outcome.OK, status=200)
    # Each new link queued once; the seed (already checked) not again.
    assert queued(rclient, keys, crawl_id) == [links[0].message, links[1].message]
    assert rclient.hgetall(keys.urls(crawl_id))[f"{SITE}/a"] == ""
    assert not rclient.exists(keys.inflight(crawl_id))
    rec = record(rclient, keys, crawl_id)
    assert (rec["links_checked"], rec["pages_crawled"], rec["outcome_ok"], rec["status_2xx"]) == ("1",) * 4
    assert rec["state"] == "running"
    # Referrers kept for the pending urls (both of /a's), none for the checked-ok seed.
    assert [Referrer.decode(r).text for r in rclient.lrange(keys.refs(crawl_id, f"{SITE}/a"), 0, -1)] == [
        "A", "A again"]
    assert rclient.llen(keys.refs(crawl_id, "http://x.example/i.png")) == 1
    assert not rclient.exists(keys.refs(crawl_id, f"{SITE}/"))


def test_complete_counts_each_outcome_and_status_class(store: CrawlStore, rclient: Client, scripts: Scripts,
                                                       keys: Keys) -> None:
    crawl_id = started(store, rclient, scripts)
    urls = {"/dead": (Outcome.DEAD, 404), "/gone": (Outcome.DEAD, None), "/blocked": (Outcome.BLOCKED, 403),
            "/slow": (Outcome.RATE_LIMITED, 429), "/moved": (Outcome.OK, 200)}
    complete(scripts, done(crawl_id, f"{SITE}/", is_page=True, links=[check(SITE + p) for p in urls]))
    assert len(scripts.pop(crawl_id, 10, "w1")) == len(urls)
    for path, (outcome, status) in urls.items():
        redirects = [[SITE + path, 301]] if path == "/moved" else None
        complete(scripts, done(crawl_id, SITE + path, outcome, status, redirects=redirects))
    rec = record(rclient, keys, crawl_id)
    assert {k: int(v) for k, v in rec.items() if k.startswith(("outcome_", "status_"))} == {
        "outcome_ok": 2, "outcome_dead": 2, "outcome_blocked": 1, "outcome_rate_limited": 1,
        "status_2xx": 2, "status_4xx": 3, "status_error": 1,
    }
    assert (rec["links_checked"], rec["pages_crawled"], rec["outcome_dead"], rec["redirected"]) == ("6", "1", "2", "1")
    assert "broken" not in rec  # the dead count is outcome_dead (older crawlers also wrote "broken")
    assert rclient.smembers(keys.problems(crawl_id)) == {SITE + p for p in ("/dead", "/gone", "/blocked", "/slow")}
    assert rclient.smembers(keys.redirects(crawl_id)) == {f"{SITE}/moved"}
    assert all(rclient.hmget(keys.urls(crawl_id), [SITE + p for p in urls]))
    assert rec["state"] == "finished"


def test_complete_keeps_referrers_of_pending_and_problem_urls_only(store: CrawlStore, rclient: Client,
                                                                   scripts: Scripts, keys: Keys) -> None:
    crawl_id = started(store, rclient, scripts)
    targets = ["/dead", "/ok", "/pending"]
    complete(scripts, done(crawl_id, f"{SITE}/", is_page=True, links=[page(t, ref=ref("/")) for t in targets]))
    assert all(rclient.llen(keys.refs(crawl_id, SITE + t)) == 1 for t in targets)
    complete(scripts, done(crawl_id, f"{SITE}/dead", Outcome.DEAD, 404, is_page=True))
    complete(scripts, done(crawl_id, f"{SITE}/ok", is_page=True))
    assert rclient.llen(keys.refs(crawl_id, f"{SITE}/dead")) == 1
    assert not rclient.exists(keys.refs(crawl_id, f"{SITE}/ok"))  # an ok url's referrers are deleted
    # A later page linking to all three: kept for the problem and the pending url, not for the ok one.
    complete(scripts, done(crawl_id, f"{SITE}/pending", is_page=True,
                           links=[page(t, 2, ref("/pending")) for t in targets]))
    assert rclient.llen(keys.refs(crawl_id, f"{SITE}/dead")) == 2
    assert not rclient.exists(keys.refs(crawl_id, f"{SITE}/ok"))
    # /pending was checked ok in this very call: its referrer list is gone, and a self-link adds none.
    assert not rclient.exists(keys.refs(crawl_id, f"{SITE}/pending"))


def test_complete_keeps_at_most_max_referrers(store: CrawlStore, rclient: Client, scripts: Scripts,
                                              keys: Keys) -> None:
    crawl_id = started(store, rclient, scripts)
    links = [page(f"/p{i}", ref=ref("/")) for i in range(3)] + [check("http://x.example/", ref=ref("/"))]
    complete(scripts, done(crawl_id, f"{SITE}/", is_page=True, links=links), max_referrers=2)
    for i in range(3):
        complete(scripts, done(crawl_id, f"{SITE}/p{i}", is_page=True,
                               links=[check("http://x.example/", 2, ref(f"/p{i}"))]), max_referrers=2)
    kept = [Referrer.decode(r).page for r in rclient.lrange(keys.refs(crawl_id, "http://x.example/"), 0, -1)]
    assert kept == [f"{SITE}/", f"{SITE}/p0"]


def test_complete_turns_page_links_over_the_budget_into_checks(store: CrawlStore, rclient: Client,
                                                                scripts: Scripts, keys: Keys) -> None:
    crawl_id = started(store, rclient, scripts, CrawlOptions(max_pages=3))
    assert record(rclient, keys, crawl_id)["max_pages"] == "3"
    links = [page("/a"), check("http://x.example/"), page("/b"), page("/c"), page("/d")]
    complete(scripts, done(crawl_id, f"{SITE}/", is_page=True, links=links))
    assert [(m.url, m.kind, m.depth) for m in queued(rclient, keys, crawl_id)] == [
        (f"{SITE}/a", MessageKind.PAGE, 1),
        ("http://x.example/", MessageKind.CHECK, 1),
        (f"{SITE}/b", MessageKind.PAGE, 1),  # the seed, /a and /b: three pages
        (f"{SITE}/c", MessageKind.CHECK, 1),
        (f"{SITE}/d", MessageKind.CHECK, 1),
    ]


def test_complete_without_a_budget_queues_every_page(store: CrawlStore, rclient: Client, scripts: Scripts,
                                                     keys: Keys) -> None:
    crawl_id = started(store, rclient, scripts)
    complete(scripts, done(crawl_id, f"{SITE}/", is_page=True, links=[page(f"/{i}") for i in range(20)]))
    assert {m.kind for m in queued(rclient, keys, crawl_id)} == {MessageKind.PAGE}


def test_complete_finishes_the_crawl_exactly_once(store: CrawlStore, rclient: Client, scripts: Scripts,
                                                  keys: Keys) -> None:
    crawl_id = started(store, rclient, scripts)
    assert complete(scripts, done(crawl_id, f"{SITE}/", is_page=True, links=[page("/a"), page("/b")])) == 1
    scripts.pop(crawl_id, 2, "w1")
    assert complete(scripts, done(crawl_id, f"{SITE}/a", is_page=True)) == 1  # /b still in flight
    assert complete(scripts, done(crawl_id, f"{SITE}/b", Outcome.DEAD, 404, is_page=True)) == 2
    rec = record(rclient, keys, crawl_id)
    assert rec["state"] == "finished" and float(rec["finished_at"]) == NOW + 1
    assert not rclient.sismember(keys.active, crawl_id)
    assert complete(scripts, done(crawl_id, f"{SITE}/b", Outcome.DEAD, 404, is_page=True)) == 1
    assert complete(scripts, done(crawl_id, f"{SITE}/late", is_page=True)) == 1
    assert rclient.llen(keys.ended_events) == 0  # nobody asked for a mail


def test_complete_pushes_the_ended_event_only_with_notify(store: CrawlStore, rclient: Client,
                                                          scripts: Scripts, keys: Keys) -> None:
    crawl_id = started(store, rclient, scripts, CrawlOptions(notify=["ops@site.example"]))
    assert complete(scripts, done(crawl_id, f"{SITE}/", is_page=True)) == 2
    assert complete(scripts, done(crawl_id, f"{SITE}/", is_page=True)) == 1
    assert rclient.lrange(keys.ended_events, 0, -1) == [crawl_id]


def test_complete_on_a_deleted_crawl(store: CrawlStore, rclient: Client, scripts: Scripts, keys: Keys) -> None:
    crawl_id = started(store, rclient, scripts)
    assert store.delete(crawl_id)
    assert complete(scripts, done(crawl_id, f"{SITE}/", is_page=True, links=[page("/a")])) == -1
    assert rclient.keys(f"{keys.crawl(crawl_id)}*") == []


def test_complete_is_idempotent(store: CrawlStore, rclient: Client, scripts: Scripts, keys: Keys) -> None:
    crawl_id = started(store, rclient, scripts)
    complete(scripts, done(crawl_id, f"{SITE}/", is_page=True, links=[page("/a"), page("/b")]))
    scripts.pop(crawl_id, 2, "w1")
    again = done(crawl_id, f"{SITE}/a", Outcome.DEAD, 500, is_page=True, links=[page("/c", 2, ref("/a"))])
    assert complete(scripts, again) == 1
    before = (record(rclient, keys, crawl_id), rclient.lrange(keys.queue(crawl_id), 0, -1),
              rclient.hgetall(keys.urls(crawl_id)), rclient.lrange(keys.refs(crawl_id, f"{SITE}/c"), 0, -1))
    # The same url done twice (its worker was wrongly thought dead): nothing counted or queued again,
    # even when the second answer differs.
    assert complete(scripts, again) == 1
    assert complete(scripts, done(crawl_id, f"{SITE}/a", Outcome.OK, 200, is_page=True,
                                  links=[page("/d", 2, ref("/a"))])) == 1
    after = (record(rclient, keys, crawl_id), rclient.lrange(keys.queue(crawl_id), 0, -1),
             rclient.hgetall(keys.urls(crawl_id)), rclient.lrange(keys.refs(crawl_id, f"{SITE}/c"), 0, -1))
    assert after == before
    assert json.loads(rclient.hget(keys.urls(crawl_id), f"{SITE}/a"))["s"] == 500


def test_complete_after_cancel_records_but_queues_nothing(store: CrawlStore, rclient: Client,
                                                           scripts: Scripts, keys: Keys) -> None:
    crawl_id = started(store, rclient, scripts)
    assert store.cancel(crawl_id)
    assert complete(scripts, done(crawl_id, f"{SITE}/", is_page=True, links=[page("/a")])) == 1
    assert rclient.hget(keys.urls(crawl_id), f"{SITE}/")
    assert not rclient.hexists(keys.urls(crawl_id), f"{SITE}/a")
    assert not rclient.exists(keys.queue(crawl_id), keys.inflight(crawl_id))
    assert record(rclient, keys, crawl_id)["state"] == "cancelled"


# -- CANCEL ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("running", [False, True])
def test_cancel_stops_a_queued_or_running_crawl(store: CrawlStore, rclient: Client, scripts: Scripts,
                                                keys: Keys, running: bool) -> None:
    crawl_id = started(store, rclient, scripts) if running else new_crawl(store, rclient)
    if running:
        complete(scripts, done(crawl_id, f"{SITE}/", is_page=True, links=[page("/a"), page("/b")]))
        assert rclient.llen(keys.queue(crawl_id)) == 2
    assert scripts.cancel(crawl_id, NOW + 9) == 1
    rec = record(rclient, keys, crawl_id)
    assert rec["state"] == "cancelled" and float(rec["finished_at"]) == NOW + 9
    assert not rclient.exists(keys.queue(crawl_id))
    assert not rclient.sismember(keys.active, crawl_id)
    assert rclient.llen(keys.ended_events) == 0
    if running:  # what it found stays
        assert rclient.hget(keys.urls(crawl_id), f"{SITE}/")
    assert scripts.cancel(crawl_id, NOW + 10) == 0
    assert float(record(rclient, keys, crawl_id)["finished_at"]) == NOW + 9


def test_cancel_an_ended_or_missing_crawl(store: CrawlStore, rclient: Client, scripts: Scripts,
                                          keys: Keys) -> None:
    crawl_id = started(store, rclient, scripts, CrawlOptions(notify=["ops@site.example"]))
    assert complete(scripts, done(crawl_id, f"{SITE}/", is_page=True)) == 2
    assert scripts.cancel(crawl_id, NOW + 9) == 0
    assert record(rclient, keys, crawl_id)["state"] == "finished"
    assert rclient.lrange(keys.ended_events, 0, -1) == [crawl_id]  # one event: the end, not the cancel
    assert scripts.cancel("nosuchcrawl", NOW) == 0
    assert not rclient.exists(keys.crawl("nosuchcrawl"))


def test_cancel_pushes_the_ended_event_with_notify(store: CrawlStore, rclient: Client, scripts: Scripts,
                                                   keys: Keys) -> None:
    crawl_id = new_crawl(store, rclient, CrawlOptions(notify=["ops@site.example"]))
    assert scripts.cancel(crawl_id, NOW) == 1
    assert rclient.lrange(keys.ended_events, 0, -1) == [crawl_id]


# -- REQUEUE --------------------------------------------------------------------------------------------
def leased(store: CrawlStore, rclient: Client, scripts: Scripts) -> tuple[str, list[str], list[str]]:
    """A running crawl with /a and /b leased to w1, /c to w2 and /d still queued."""
    crawl_id = started(store, rclient, scripts)
    complete(scripts, done(crawl_id, f"{SITE}/", is_page=True, links=[page(p) for p in ("/a", "/b", "/c", "/d")]))
    w1 = scripts.pop(crawl_id, 2, "w1")
    w2 = scripts.pop(crawl_id, 1, "w2")
    return crawl_id, w1, w2


def test_requeue_all_of_a_workers_leases_at_the_head(store: CrawlStore, rclient: Client, scripts: Scripts,
                                                     keys: Keys) -> None:
    crawl_id, w1, w2 = leased(store, rclient, scripts)
    assert scripts.requeue(crawl_id, "w1") == 2
    queue = rclient.lrange(keys.queue(crawl_id), 0, -1)
    assert sorted(queue[:2]) == sorted(w1) and FrontierMessage.decode(queue[2]).url == f"{SITE}/d"
    assert rclient.hgetall(keys.inflight(crawl_id)) == {f"{SITE}/c": f"w2\n{w2[0]}"}  # not another worker's
    assert scripts.requeue(crawl_id, "w1") == 0
    assert scripts.requeue(crawl_id, "w") == 0  # a worker id that prefixes another's holds nothing
    assert rclient.hlen(keys.inflight(crawl_id)) == 1


def test_requeue_given_urls_at_the_tail(store: CrawlStore, rclient: Client, scripts: Scripts,
                                        keys: Keys) -> None:
    crawl_id, w1, _ = leased(store, rclient, scripts)
    assert scripts.requeue(crawl_id, "w1", [f"{SITE}/b", f"{SITE}/c", f"{SITE}/nowhere"], tail=True) == 1
    assert [FrontierMessage.decode(m).url for m in rclient.lrange(keys.queue(crawl_id), 0, -1)] == [
        f"{SITE}/d", f"{SITE}/b"]
    assert set(rclient.hkeys(keys.inflight(crawl_id))) == {f"{SITE}/a", f"{SITE}/c"}
    # Put back, it is popped and leased again like any other message.
    again = scripts.pop(crawl_id, 5, "w3")
    assert [FrontierMessage.decode(m).url for m in again] == [f"{SITE}/d", f"{SITE}/b"]
    assert again[1] == w1[1]
    assert rclient.hget(keys.inflight(crawl_id), f"{SITE}/b") == f"w3\n{w1[1]}"


def test_requeue_of_no_urls_puts_nothing_back(store: CrawlStore, rclient: Client, scripts: Scripts,
                                              keys: Keys) -> None:
    crawl_id, _, _ = leased(store, rclient, scripts)
    assert scripts.requeue(crawl_id, "w1", [], tail=True) == 0
    assert rclient.hlen(keys.inflight(crawl_id)) == 3 and rclient.llen(keys.queue(crawl_id)) == 1


def test_requeue_drops_the_leases_of_a_cancelled_crawl(store: CrawlStore, rclient: Client, scripts: Scripts,
                                                       keys: Keys) -> None:
    crawl_id, _, _ = leased(store, rclient, scripts)
    assert store.cancel(crawl_id)
    scripts.requeue(crawl_id, "w1")
    assert not rclient.exists(keys.queue(crawl_id))
    assert set(rclient.hkeys(keys.inflight(crawl_id))) == {f"{SITE}/c"}
    scripts.requeue(crawl_id, "w2", [f"{SITE}/c"], tail=True)
    assert not rclient.exists(keys.queue(crawl_id), keys.inflight(crawl_id))


def test_the_running_text_names_its_parts() -> None:
    """LINKS and COMPLETE share the prelude's helpers: the text Redis runs holds it once, under a
    comment naming it, then the script's own part; no script defines the helpers itself."""
    from linkpatrol.frontier import PRELUDE_USERS, script
    for name in PRELUDE_USERS:
        text = script(name)
        assert text.startswith("-- part: prelude.lua\n") and f"\n-- part: {name}.lua\n" in text
        assert text.count("local function has_anchor(") == 1 and text.count("local function page_budget(") == 1
    assert "-- part:" not in script("pop")


def test_complete_takes_one_header(store: CrawlStore, rclient: Client, scripts: Scripts) -> None:
    """COMPLETE's arguments are one JSON object (no positions to count); LINKS's a header, then links."""
    crawl_id = started(store, rclient, scripts)
    sent: dict[str, tuple[list[str], list[object]]] = {}

    def watched(name: str, run: object) -> object:
        def call(keys: list[str], args: list[object]) -> object:
            sent[name] = (keys, args)
            return run(keys=keys, args=args)  # type: ignore[operator]
        return call

    scripts._complete = watched("complete", scripts._complete)  # type: ignore[method-assign]
    scripts._links = watched("links", scripts._links)  # type: ignore[method-assign]
    result = done(crawl_id, f"{SITE}/", is_page=True, links=[page("/a")])
    assert complete(scripts, result) == 1
    keys, args = sent["complete"]
    assert len(keys) == 15 and len(args) == 2  # the header, then the page's anchors as they are
    header = json.loads(str(args[0]))
    assert header["url"] == f"{SITE}/" and header["page"] == "1"
    assert LinkResult.from_json("", header["result"]).status == 200
    keys, args = sent["links"]
    assert len(keys) == 11 and len(args) == 1 + 6 and json.loads(str(args[0]))["url"] == f"{SITE}/"
