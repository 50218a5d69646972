"""The operator's command line, run as a real subprocess against the test Redis."""

from __future__ import annotations

import json
from collections.abc import Callable

from linkpatrol.model.verdicts import Outcome
from linkpatrol.model.wire import Completion, FoundLink, FrontierMessage, LinkResult, MessageKind, Referrer
from linkpatrol.reports.results import to_report
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, wait_for
from tests.support.processes import linkpatrol_cli as cli


def test_enqueue_status_report_delete(redis_url: str, store: CrawlStore, crawlers: Callable[..., CrawlerProcess],
                                      site: SiteServer) -> None:
    crawlers()
    out = cli(redis_url, "enqueue", site.url("main"), "--no-external", "--max-depth", "1", "--wait")
    assert out.returncode == 0, out.stderr
    crawl_id = out.stdout.splitlines()[0]
    status = json.loads(cli(redis_url, "status", crawl_id).stdout)
    assert status["state"] == "finished" and status["options"]["check_external"] is False
    broken = json.loads(cli(redis_url, "report", crawl_id).stdout)
    missing = next(b for b in broken if b["url"].endswith("/missing.html"))
    assert missing["status"] == 404 and missing["error"] is None
    # The one report shape (the API's); the first version's short shape is part of it.
    assert any({"page": site.url("main", "/"), "text": "Missing page"}.items() <= ref.items()
               for ref in missing["referrers"])
    assert set(missing) == set(to_report(LinkResult("u", "dead"))) >= {"url", "status", "error", "referrers"}
    assert all(not b["url"].startswith(site.url("ext")) for b in broken)
    listed = [json.loads(line) for line in cli(redis_url, "list").stdout.splitlines()]
    assert [c["id"] for c in listed] == [crawl_id]
    workers = json.loads(cli(redis_url, "workers").stdout)
    assert len(workers) == 1 and workers[0]["pid"] > 0
    assert cli(redis_url, "delete", crawl_id).returncode == 0
    assert cli(redis_url, "status", crawl_id).returncode == 1


def test_cancel_and_bad_input(redis_url: str, store: CrawlStore) -> None:
    out = cli(redis_url, "enqueue", "ftp://example.org/")
    assert out.returncode == 2 and "only http and https" in out.stderr
    out = cli(redis_url, "enqueue", "http://example.org/", "--max-pages", "0")
    assert out.returncode == 2 and "max-pages" in out.stderr
    crawl_id = cli(redis_url, "enqueue", "http://example.org/").stdout.strip()
    assert cli(redis_url, "cancel", crawl_id).returncode == 0
    wait_for(lambda: store.require(crawl_id).state == "cancelled", 5)
    again = cli(redis_url, "cancel", crawl_id)
    assert again.returncode == 1 and "already cancelled" in again.stderr


def test_redis_down_is_a_clear_error() -> None:
    out = cli("redis://127.0.0.1:1/0", "list")
    assert out.returncode == 3 and "cannot reach Redis" in out.stderr


def test_crawler_module_is_an_alias(redis_url: str, store: CrawlStore) -> None:
    crawl_id = cli(redis_url, "enqueue", "http://example.org/", module="crawler").stdout.strip()
    assert store.require(crawl_id).state == "queued"
    assert [json.loads(line)["id"] for line in cli(redis_url, "list", module="crawler").stdout.splitlines()] == [
        crawl_id]
    usage = cli(redis_url, "--help", module="crawler")
    assert usage.returncode == 0 and usage.stdout.startswith("usage: linkpatrol")


def test_report_include_and_more_bad_input(redis_url: str, store: CrawlStore) -> None:
    crawl = store.create("http://site.example/")
    scripts = store.scripts
    scripts.seed(crawl.id, crawl.url, 1.0)
    scripts.pop(crawl.id, 1, "w")
    ref = Referrer(crawl.url, "Gone", "a", "")
    links = [FoundLink(u, FrontierMessage(u, MessageKind.CHECK, 1), ref)
             for u in ("http://site.example/gone", "http://site.example/private")]
    scripts.complete(Completion(crawl.id, LinkResult(crawl.url, Outcome.OK, 200), True, links), now=2.0,
                     max_referrers=10)
    scripts.pop(crawl.id, 2, "w")
    for url, outcome, status in ((links[0].target, Outcome.DEAD, 410), (links[1].target, Outcome.BLOCKED, 403)):
        scripts.complete(Completion(crawl.id, LinkResult(url, outcome, status)), now=3.0, max_referrers=10)
    dead = json.loads(cli(redis_url, "report", crawl.id).stdout)
    # One shape with or without --include: the API's (``to_report``), referrers with their #fragment.
    assert dead == [to_report(LinkResult(links[0].target, Outcome.DEAD, 410, referrer_count=1,
                                         referrers=[Referrer(crawl.url, "Gone", "a", "")]))]
    both = json.loads(cli(redis_url, "report", crawl.id, "--include", "blocked, dead").stdout)
    assert [(r["url"], r["outcome"], r["referrer_count"]) for r in both] == [
        (links[0].target, "dead", 1), (links[1].target, "blocked", 1)]
    out = cli(redis_url, "report", crawl.id, "--include", "dead,ok")
    assert out.returncode == 2 and "'ok' is not a problem outcome" in out.stderr and "rate_limited" in out.stderr
    out = cli(redis_url, "enqueue", "http://example.org/", "--notify", "not-an-address")
    assert out.returncode == 2 and "--notify" in out.stderr and "not an email address" in out.stderr
    out = cli(redis_url, "enqueue", "http://example.org/", "--site-rate", "0")
    assert out.returncode == 2 and "--site-rate" in out.stderr
    for command in ("status", "report", "cancel", "delete"):
        out = cli(redis_url, command, "nosuchcrawl")
        assert out.returncode == 1 and "no crawl nosuchcrawl" in out.stderr
    assert json.loads(cli(redis_url, "crawlers").stdout) == []
    assert store.count() == 1


def test_enqueue_with_rules(redis_url: str, store: CrawlStore) -> None:
    out = cli(redis_url, "enqueue", "https://staging.example.org/", "--exclude", "/calendar/", "--exclude", "[?&]sort=",
              "--same-site", "Docs.Example.org", "--subdomains", "--accept", "403@github.com", "--accept", "500-599",
              "--header", "Authorization: Bearer s3cret", "--header", "X-Staging: yes", "--head-first",
              "--max-page-size", "8", "--max-duration", "90m")
    assert out.returncode == 0, out.stderr
    crawl_id = out.stdout.strip()
    options = store.require(crawl_id).options
    assert options.exclude == ["/calendar/", "[?&]sort="] and options.same_site == ["docs.example.org"]
    assert options.subdomains and options.head_first and options.max_page_size == 8
    assert options.max_duration == 90 * 60
    assert options.accept == ["403@github.com", "500-599"]
    assert store.crawl_headers(crawl_id) == {"Authorization": "Bearer s3cret", "X-Staging": "yes"}
    status = cli(redis_url, "status", crawl_id)
    assert "s3cret" not in status.stdout and "s3cret" not in status.stderr
    assert json.loads(status.stdout)["options"]["header_names"] == ["Authorization", "X-Staging"]
    assert "s3cret" not in cli(redis_url, "list").stdout
    plain = json.loads(cli(redis_url, "status", cli(redis_url, "enqueue", "https://example.org/").stdout.strip()).stdout)
    assert plain["options"]["exclude"] == [] and plain["options"]["head_first"] is False


def test_bad_rules_name_the_flag(redis_url: str, store: CrawlStore) -> None:
    for args, flag, message in [
        (["--exclude", "(unclosed"], "--exclude", "not a regular expression"),
        (["--same-site", "https://docs.example.org/"], "--same-site", "not a host name"),
        (["--accept", "40x"], "--accept", "not a status code"),
        (["--header", "Bearer s3cret"], "--header", 'not "Name: value"'),
        (["--header", "Host: s3cret.example"], "--header", "set by the HTTP client"),
        (["--max-page-size", "2048"], "--max-page-size", "from 1 to 1024"),
        (["--max-duration", "forever"], "--max-duration", "must be a duration"),
    ]:
        out = cli(redis_url, "enqueue", "https://example.org/", *args)
        assert out.returncode == 2, (args, out.stderr)
        # A value the model refuses names its flag: argparse's message for a flag's value, ours for the rest.
        assert (out.stderr.startswith(f"error: {flag}: ") or f"error: argument {flag}: " in out.stderr) \
            and message in out.stderr, out.stderr
        assert "s3cret" not in out.stderr
    assert store.count() == 0


def test_a_cron_that_never_fires_is_exit_2_naming_the_option(redis_url: str, store: CrawlStore) -> None:
    from linkpatrol.watch.schedules import Schedules

    for expr, message in (("0 0 31 2 *", "never fires"), ("0 0 30 2 *", "never fires"),
                          ("R 3 * * *", "random values"), ("0 " * 150, "must be a cron expression")):
        out = cli(redis_url, "schedule", "add", "https://example.org/", "--cron", expr)
        assert out.returncode == 2, (expr, out.stderr)
        assert out.stderr.startswith("error: --cron: ") and message in out.stderr and "Traceback" not in out.stderr
    assert Schedules(store).count() == 0
    leap = cli(redis_url, "schedule", "add", "https://example.org/", "--cron", "0 0 29 2 *", "--paused")
    assert leap.returncode == 0, leap.stderr
    sid = json.loads(leap.stdout)["id"]
    store.r.hset(store.keys.schedule(sid), "cron", "0 0 31 2 *")  # stored before the check existed
    resumed = cli(redis_url, "schedule", "resume", sid)
    assert resumed.returncode == 2 and "cron: '0 0 31 2 *' never fires" in resumed.stderr, resumed.stderr
