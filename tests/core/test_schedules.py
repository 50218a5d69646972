"""Schedules in the core: validation, due times, exactly one crawl per due time (also under racing
ticks), skipping while the previous crawl runs, one run after an outage, pause/resume, run now,
deletion and retention. A real Redis; the tick is called with explicit times (the clock moves)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import redis

from linkpatrol.model.options import InvalidOption, parse_options
from linkpatrol.model.start_messages import StartMessage
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.watch.schedules import (
    CLOCK_FILE_ENV,
    SKIPPED_RUNNING,
    PreviousCrawlRunning,
    ScheduleRequest,
    Schedules,
    next_slot,
    now,
    parse_cron,
    parse_every,
)

SITE = "https://site.example/"
T0 = 1_700_000_000.0  # a fixed creation time: every due time below is computed from it
HOUR = 3600


def hourly(schedules: Schedules, **options: object) -> str:
    req = ScheduleRequest(SITE, parse_options(options), every=HOUR, cron=None)
    return schedules.create(req, at=T0).id


def crawls_of_site(store: CrawlStore) -> list[str]:
    return [c.id for c in store.site_crawls(SITE)]


@pytest.fixture
def schedules(store: CrawlStore) -> Schedules:
    return Schedules(store, min_interval=60)


# -- validation ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "seconds"), [("30m", 1800), ("6h", 21600), ("1d", 86400), (" 2w ", 1209600),
                                               ("90s", 90), ("1h 30m", 5400)])
def test_every_takes_a_number_and_a_unit(raw: str, seconds: int) -> None:
    assert parse_every(raw, 60) == seconds


@pytest.mark.parametrize(("raw", "says"), [
    ("6", "a number and a unit"), ("6 hours", "a number and a unit"), (6, "a number and a unit"),
    ("-1h", "a number and a unit"), ("30s", "at least 1m"), ("400d", "at most 366d"), ("30m 2h", "a number and a unit"),
])
def test_a_bad_interval_is_refused_with_a_reason(raw: object, says: str) -> None:
    with pytest.raises(InvalidOption) as err:
        parse_every(raw, 60)
    assert err.value.field == "every" and says in err.value.message


def test_cron_expressions_are_checked_and_their_gaps_respect_the_minimum() -> None:
    assert parse_cron("0  3 * * 1", 300, at=T0) == "0 3 * * 1"
    for bad in ("0 3 * *", "61 * * * *", "0 3 * * 1 2026", "@daily", "hello", 5, "0 " * 200):
        with pytest.raises(InvalidOption) as err:
            parse_cron(bad, 300, at=T0)
        assert err.value.field == "cron"
    with pytest.raises(InvalidOption, match="1m apart; the shortest interval is 5m"):
        parse_cron("* * * * *", 300, at=T0)
    with pytest.raises(InvalidOption, match="apart"):  # two runs a minute apart once an hour
        parse_cron("0,1 * * * *", 300, at=T0)


@pytest.mark.parametrize("expr", ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6 *", "15 8 31 11 *"])
def test_a_cron_that_never_fires_is_refused_naming_the_field(expr: str) -> None:
    with pytest.raises(InvalidOption) as err:
        parse_cron(expr, 300, at=T0)
    assert err.value.field == "cron" and err.value.message == (
        f"{expr!r} never fires: no date matches its day of month, month and day of week (such as the 31st of "
        "February)")


def test_a_cron_that_fires_rarely_is_kept_and_random_values_are_refused() -> None:
    assert parse_cron("0 0 29 2 *", 300, at=T0) == "0 0 29 2 *"  # leap days: every four (or eight) years
    assert next_slot(None, "0 0 29 2 *", T0, T0) == 1_709_164_800.0  # 2024-02-29 00:00 UTC
    assert parse_cron("0 0 31 2 mon", 300, at=T0) == "0 0 31 2 mon"  # day of month OR day of week: Mondays
    for bad in ("R 3 * * *", "0 r(1-5) * * *", "0 R/2 * * *"):
        with pytest.raises(InvalidOption, match="random values"):
            parse_cron(bad, 300, at=T0)


@pytest.mark.parametrize("stored", ["0 0 31 2 *", "not cron at all"])
def test_a_stored_cron_that_never_fires_stops_its_schedule_alone_with_one_log_line(
        store: CrawlStore, schedules: Schedules, stored: str, caplog: pytest.LogCaptureFixture) -> None:
    """A record written before the check (or by hand): the tick fires the others, takes this one off the
    due list with one log line and says why in ``last_result``; resuming it is refused; a new cron fixes it."""
    good = hourly(schedules)
    broken = hourly(schedules)
    store.r.hset(store.keys.schedule(broken), mapping={"every": "", "cron": stored})
    caplog.set_level("WARNING", logger="linkpatrol.watch.schedules")
    fired = schedules.run_due(at=T0 + HOUR)
    assert [(f.outcome, store.require(f.crawl_id or "").url) for f in fired] == [("started", SITE)]
    assert schedules.require(good).runs == 1
    s = schedules.require(broken)
    assert s.runs == 0 and s.next_run is None and s.last_result.startswith(f"not run: cron {stored!r}")
    assert [r.getMessage() for r in caplog.records] == [
        f"schedule {broken} taken off the due list until its cron is changed: {s.last_result[len('not run: cron '):]}"]
    store.cancel(fired[0].crawl_id or "")
    assert [f.outcome for f in schedules.run_due(at=T0 + 2 * HOUR)] == ["started"]  # the good one goes on
    assert len(caplog.records) == 1  # said once, not once a tick
    schedules.set_paused(broken, True)
    with pytest.raises(InvalidOption) as err:
        schedules.set_paused(broken, False)
    assert err.value.field == "cron"
    fixed = schedules.set_when(broken, None, "0 3 * * 1", at=T0 + 2 * HOUR)
    assert fixed.next_run is None  # still paused: resuming now works
    assert schedules.set_paused(broken, False, at=T0 + 2 * HOUR).next_run == 1_700_449_200.0


def test_a_stored_pattern_re2_refuses_stops_its_schedule_alone(
        store: CrawlStore, schedules: Schedules, caplog: pytest.LogCaptureFixture) -> None:
    """A schedule saved while exclude patterns ran on Python's re (a backreference): the tick starts the
    others and says why this one did not run."""
    good = hourly(schedules)
    broken = hourly(schedules, exclude=["/drafts/"])
    options = json.loads(store.r.hget(store.keys.schedule(broken), "options") or "{}")
    store.r.hset(store.keys.schedule(broken), "options", json.dumps({**options, "exclude": [r"(a)\1"]}))
    caplog.set_level("WARNING", logger="linkpatrol.watch.schedules")
    fired = schedules.run_due(at=T0 + HOUR)
    assert [f.outcome for f in fired] == ["started"] and schedules.require(good).runs == 1
    s = schedules.require(broken)
    assert s.runs == 0 and s.next_run is None
    assert s.last_result.startswith("not run: exclude") and "backreference" in s.last_result
    assert len(caplog.records) == 1 and "until its exclude is changed" in caplog.records[0].getMessage()


def test_the_tick_job_goes_on_past_a_stored_cron_that_never_fires(
        redis_url: str, store: CrawlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The job RQ runs for each tick (``web.schedules.jobs.tick``) ends normally and starts the others."""
    from web.schedules.jobs import tick

    schedules = Schedules(store, 60)
    good = schedules.create(ScheduleRequest(SITE, parse_options({}), every=HOUR, cron=None)).id
    broken = schedules.create(ScheduleRequest(SITE, parse_options({}), every=HOUR, cron=None)).id
    store.r.hset(store.keys.schedule(broken), mapping={"every": "", "cron": "0 0 31 2 *"})
    clock = tmp_path / "offset"
    clock.write_text(str(HOUR + 5))
    monkeypatch.setenv(CLOCK_FILE_ENV, str(clock))
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert tick() == "1 started, 0 skipped"
    assert schedules.require(good).runs == 1 and schedules.require(broken).next_run is None


def test_slots_of_an_interval_stay_on_their_grid() -> None:
    assert next_slot(HOUR, None, T0, T0) == T0 + HOUR
    assert next_slot(HOUR, None, T0, T0 + HOUR) == T0 + 2 * HOUR  # strictly after
    assert next_slot(HOUR, None, T0, T0 + 10.5 * HOUR) == T0 + 11 * HOUR
    # 2023-11-14 22:13:20 UTC -> the next Monday 03:00 UTC
    assert next_slot(None, "0 3 * * 1", T0, T0) == 1_700_449_200.0


# -- firing ------------------------------------------------------------------------------------------
def test_a_due_schedule_starts_one_crawl_with_its_options_and_moves_on(
        store: CrawlStore, schedules: Schedules) -> None:
    sid = hourly(schedules, max_pages=5, headers={"Authorization": "Bearer s3cret"}, notify=["a@b.example"],
                 notify_when="changes", webhooks=["https://hooks.example/in"], webhook_secret="whs3cret")
    s = schedules.require(sid)
    assert s.next_run == T0 + HOUR and s.last_crawl is None
    shown = json.dumps([store.r.hgetall(store.keys.schedule(sid)), s.to_dict()])
    assert "s3cret" not in shown and "Authorization" in shown  # secrets kept apart, names shown
    assert schedules.run_due(at=T0 + HOUR - 1) == []
    assert crawls_of_site(store) == []

    fired = schedules.run_due(at=T0 + HOUR + 2)
    assert [f.outcome for f in fired] == ["started"]
    crawl = store.require(fired[0].crawl_id or "")
    assert crawl.options.max_pages == 5 and crawl.options.notify == ["a@b.example"]
    assert crawl.origin == "schedule"
    assert crawl.options.header_names == ["Authorization"]
    assert store.crawl_headers(crawl.id) == {"Authorization": "Bearer s3cret"}
    assert crawl.options.notify_when == "changes" and crawl.options.webhooks == ["https://hooks.example/in"]
    assert store.webhook_secret(crawl.id) == "whs3cret"
    assert store.r.lrange(store.keys.start, 0, -1) == [StartMessage(crawl_id=crawl.id).encode()]
    s = schedules.require(sid)
    assert (s.next_run, s.last_crawl, s.runs) == (T0 + 2 * HOUR, crawl.id, 1)
    assert s.last_result == f"started crawl {crawl.id}"
    assert schedules.run_due(at=T0 + HOUR + 30) == []  # the same due time never fires twice


def test_missed_slots_after_an_outage_run_once(store: CrawlStore, schedules: Schedules) -> None:
    sid = hourly(schedules)
    fired = schedules.run_due(at=T0 + 10.5 * HOUR)  # ten slots went by while everything was down
    assert [f.outcome for f in fired] == ["started"]
    assert len(crawls_of_site(store)) == 1
    assert schedules.require(sid).next_run == T0 + 11 * HOUR


def test_a_schedule_whose_previous_crawl_still_runs_skips_and_says_so(
        store: CrawlStore, schedules: Schedules) -> None:
    sid = hourly(schedules)
    first = schedules.run_due(at=T0 + HOUR)[0].crawl_id
    assert [f.outcome for f in schedules.run_due(at=T0 + 2 * HOUR)] == ["skipped"]
    s = schedules.require(sid)
    assert s.last_result == SKIPPED_RUNNING and s.skipped == 1 and s.last_crawl == first
    assert s.next_run == T0 + 3 * HOUR and crawls_of_site(store) == [first]
    with pytest.raises(PreviousCrawlRunning):
        schedules.run_now(sid, at=T0 + 2 * HOUR)
    store.cancel(first or "")  # the previous crawl ended: the next due time starts one
    second = schedules.run_due(at=T0 + 3 * HOUR)[0].crawl_id
    assert second and crawls_of_site(store) == [second, first]


def test_racing_ticks_start_exactly_one_crawl_per_due_time(redis_url: str, store: CrawlStore) -> None:
    sids = [hourly(Schedules(store, 60)) for _ in range(5)]
    clients = [redis.Redis.from_url(redis_url, decode_responses=True) for _ in range(8)]
    barrier = threading.Barrier(len(clients))
    results: list[list[str]] = []

    def tick(client: redis.Redis) -> None:
        barrier.wait()
        fired = Schedules(CrawlStore(client), 60).run_due(at=T0 + HOUR + 1)
        results.append([f.crawl_id or "" for f in fired])

    threads = [threading.Thread(target=tick, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for c in clients:
        c.close()
    started = [cid for r in results for cid in r]
    assert len(started) == len(sids) == len(set(started)) == len(crawls_of_site(store))
    assert sorted(store.require(cid).url for cid in started) == [SITE] * 5
    assert store.r.llen(store.keys.start) == 5


def test_pause_resume_and_run_now(store: CrawlStore, schedules: Schedules) -> None:
    sid = hourly(schedules)
    paused = schedules.set_paused(sid, True, at=T0 + 10)
    assert paused.paused and paused.next_run is None
    assert schedules.run_due(at=T0 + 5 * HOUR) == []
    crawl_id = schedules.run_now(sid, at=T0 + 5 * HOUR)  # "run now" works on a paused schedule too
    assert crawls_of_site(store) == [crawl_id] and schedules.require(sid).next_run is None
    store.cancel(crawl_id)
    resumed = schedules.set_paused(sid, False, at=T0 + 5.5 * HOUR)
    assert not resumed.paused and resumed.next_run == T0 + 6 * HOUR
    assert schedules.set_paused(sid, False, at=T0 + 5.7 * HOUR).next_run == T0 + 6 * HOUR  # resume twice: no change
    changed = schedules.set_when(sid, None, "0 3 * * 1", at=T0)
    assert changed.cron == "0 3 * * 1" and changed.next_run == 1_700_449_200.0
    regrid = schedules.set_when(sid, 2 * HOUR, None, at=T0 + 7.25 * HOUR)  # a new interval counts from now
    assert regrid.next_run == T0 + 9.25 * HOUR and regrid.created_at == T0 and regrid.every == 2 * HOUR


def test_deleting_a_schedule_leaves_its_crawls_and_retention_leaves_the_schedule(
        redis_url: str, rclient: redis.Redis) -> None:
    store = CrawlStore(rclient, keep_crawls=1)
    schedules = Schedules(store, 60)
    sid = hourly(schedules)
    first = schedules.run_due(at=T0 + HOUR)[0].crawl_id or ""
    store.cancel(first)
    second = schedules.run_due(at=T0 + 2 * HOUR)[0].crawl_id or ""
    assert crawls_of_site(store) == [second] and store.get(first) is None  # retention deleted the first
    store.cancel(second)
    store.delete(second)  # the schedule's last crawl is gone: the schedule goes on
    third = schedules.run_due(at=T0 + 3 * HOUR)[0].crawl_id
    assert third and schedules.require(sid).last_crawl == third
    assert schedules.delete(sid) and not schedules.delete(sid)
    assert schedules.get(sid) is None and crawls_of_site(store) == [third]
    assert rclient.zcard(store.keys.schedules_due) == 0 and not rclient.exists(store.keys.schedule_secrets(sid))
    assert schedules.run_due(at=T0 + 10 * HOUR) == []


def test_lists_and_the_next_run_of_each_site(store: CrawlStore, schedules: Schedules) -> None:
    a = hourly(schedules)
    b = schedules.create(ScheduleRequest(SITE, parse_options({}), every=None, cron="0 3 * * 1"), at=T0 + 1).id
    other = schedules.create(ScheduleRequest("https://other.example/", parse_options({}), 86400, None,
                                             paused=True), at=T0 + 2).id
    assert [s.id for s in schedules.list()] == [other, b, a] and schedules.count() == 3
    assert [s.id for s in schedules.for_site(SITE)] == [a, b]
    assert schedules.next_runs([SITE, "https://other.example/", "https://none.example/"]) == {SITE: T0 + HOUR}
    shown = schedules.require(b).to_dict()
    assert shown["cron"] == "0 3 * * 1" and shown["every"] is None and shown["next_run"].startswith("2023-11-20T03:00")


def test_the_test_clock_moves_only_when_enabled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = tmp_path / "offset"
    clock.write_text("7200")
    real = now()
    assert abs(real - __import__("time").time()) < 5
    monkeypatch.setenv(CLOCK_FILE_ENV, str(clock))
    assert 7195 < now() - real < 7205
    clock.write_text("not a number")
    assert abs(now() - real) < 5


# -- the command line ----------------------------------------------------------------------------------
def test_the_command_line_adds_lists_pauses_runs_and_deletes(redis_url: str, store: CrawlStore) -> None:
    from tests.support.processes import linkpatrol_cli

    added = linkpatrol_cli(redis_url, "schedule", "add", "https://site.example", "--every", "6h",
                           "--notify", "ops@example.org", "--notify-when", "changes", "--max-pages", "9",
                           "--header", "Cookie: s=s3cret")
    assert added.returncode == 0, added.stderr
    shown = json.loads(added.stdout)
    sid = shown["id"]
    assert shown["every"] == "6h" and shown["next_run"] and shown["options"]["notify_when"] == "changes"
    assert "s3cret" not in added.stdout
    listed = linkpatrol_cli(redis_url, "schedule", "list")
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == [sid]
    assert json.loads(linkpatrol_cli(redis_url, "schedule", "pause", sid).stdout)["paused"] is True
    assert json.loads(linkpatrol_cli(redis_url, "schedule", "resume", sid).stdout)["next_run"]
    run = linkpatrol_cli(redis_url, "schedule", "run", sid)
    assert run.returncode == 0 and store.crawl_headers(run.stdout.strip()) == {"Cookie": "s=s3cret"}
    busy = linkpatrol_cli(redis_url, "schedule", "run", sid)
    assert busy.returncode == 1 and "still running" in busy.stderr
    assert linkpatrol_cli(redis_url, "schedule", "delete", sid).returncode == 0
    assert store.get(run.stdout.strip()) is not None  # the crawl stays
    gone = linkpatrol_cli(redis_url, "schedule", "show", sid)
    assert gone.returncode == 1 and f"no schedule {sid}" in gone.stderr
    for args, says in ((["--every", "1x"], "--every: must be a number"),
                       (["--every", "1m"], "--every: must be at least 5m"),
                       (["--cron", "0 3 * *"], "--cron: '0 3 * *' is not a cron expression"),
                       (["--every", "1h", "--max-pages", "0"], "--max-pages"),
                       (["--every", "1h", "--notify", "nope"], "--notify: 'nope' is not an email address")):
        bad = linkpatrol_cli(redis_url, "schedule", "add", SITE, *args)
        assert bad.returncode == 2 and says in bad.stderr, (args, bad.stderr)
