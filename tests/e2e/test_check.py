"""``linkpatrol check URL|DIR`` as a CI job runs it: the installed ``linkpatrol`` command (``make``
installs the project into the venv; without it, ``python -m linkpatrol`` with the repository on
PYTHONPATH), started outside the repository, against the fixture sites and the
built site in ``tests/support/built_site``. Each exit code, each report format, ``--site-url``,
Ctrl-C mid-crawl, two runs at once; every run leaves no process and no temporary folder behind."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis
from lxml import etree

from linkpatrol import durations
from linkpatrol.cli.check.folder import FolderServer
from linkpatrol.cli.check.services import TEMP_PREFIX
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from linkpatrol.store.registry import list_crawlers
from tests.support.certificates import certificates
from tests.support.processes import ROOT, CrawlerProcess, SiteServer, wait_for
from tests.support.sites import fixture

BUILT = ROOT / "tests" / "support" / "built_site"
SITE_URL = "https://example.org/docs/"
# tests/support/built_site checked with --site-url https://example.org/docs/: the dead links, in
# production form, and the pages that link to them.
BUILT_DEAD = {
    f"{SITE_URL}removed.html": {(SITE_URL, "Removed page")},  # an absolute production link
    f"{SITE_URL}old-page.html": {(SITE_URL, "Old page")},  # relative
    f"{SITE_URL}img/missing.png": {(SITE_URL, "Missing picture")},  # root-relative
    f"{SITE_URL}missing/": {(f"{SITE_URL}guide/", "Missing section")},  # ../ relative
    f"{SITE_URL}guide/removed-too.html": {(f"{SITE_URL}guide/install.html", "Removed too")},
}
BUILT_URLS = 12  # targets checked: 4 pages, the redirect to guide/, the stylesheet, the logo, 5 dead
# What a CI runner's environment would not have: the test suite's Redis and crawler settings.
DROPPED = ("REDIS_URL", "LINKPATROL_ALLOW_PRIVATE", "SCRAPY_SETTINGS_MODULE", "LINKPATROL_PREFIX")
QUICK = {"LINKPATROL_TIMEOUT": "2", "LINKPATROL_RETRY_AFTER_MAX": "1", "LINKPATROL_WORKER_TTL": "3"}


INSTALLED = Path(sys.executable).parent / "linkpatrol"


def check_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED and k != "PYTHONPATH"}
    if not INSTALLED.exists():
        env["PYTHONPATH"] = str(ROOT)
    return {**env, **QUICK, **extra}


def command(*args: str) -> list[str]:
    if INSTALLED.exists():
        return [str(INSTALLED), "check", *args]
    return [sys.executable, "-m", "linkpatrol", "check", *args]


def stop(proc: subprocess.Popen[str]) -> None:
    """A check that a failed test leaves running is stopped as a user would: SIGTERM, so that it stops
    what it started (a SIGKILL would orphan them); SIGKILL only if that fails."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def temp_folders(pid: int | None = None) -> set[Path]:
    """The temporary folders of the check run by process ``pid`` (of every run: None)."""
    return set(Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}{'' if pid is None else f'{pid}-'}*"))


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """The command's working folder: not the repository, and still empty after the run."""
    cwd = tmp_path / "ci"
    cwd.mkdir()
    return cwd


@pytest.fixture
def run_check(outside: Path) -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    pids: list[int] = []

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        with subprocess.Popen(command(*args), cwd=outside, env=env or check_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) as proc:
            pids.append(proc.pid)
            try:
                stdout, stderr = proc.communicate(timeout=timeout)
            finally:
                stop(proc)
        return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)

    yield run
    assert [temp_folders(pid) for pid in pids if temp_folders(pid)] == [], "a check left its temporary folder"
    assert [p.name for p in outside.iterdir() if p.name != "report"] == [], "a check wrote into its working folder"


@pytest.fixture(scope="module")
def slow_site() -> Iterator[SiteServer]:
    """1,000 generated pages, each answered after 0.2 s: a crawl of 15 s or more, still under way when we act."""
    server = SiteServer("generated", "1000", "0.2")
    yield server
    server.stop()


def dead_in_text(stdout: str) -> dict[str, set[tuple[str, str]]]:
    """The text report's broken links (``line N: URL  VERDICT  "text"`` under each page), each with the
    pages it is on and its text there."""
    found: dict[str, set[tuple[str, str]]] = {}
    page = ""
    for line in stdout.splitlines():
        if line.startswith("  ") and not line.startswith(("   ", "  note: ")) and "://" in line:
            page = line.strip()
        elif match := re.fullmatch(r'    (?:line [0-9]+: )?(\S+)  .+  "(.*)"', line):
            found.setdefault(match[1], set()).add((page, match[2]))
    return found


def within_10_percent(reported: float, wall: float) -> bool:
    """A time the check reported against the wall time the test measured around the command: within
    10%, or 0.25 s for a check that takes about a second (the report is rounded to a tenth, and the
    test's own process start and the interpreter's exit after the report fall outside it). A report of
    the crawl's time alone (a tenth of a second here) still fails."""
    return abs(reported - wall) <= max(0.1 * wall, 0.25)


# -- exit codes ---------------------------------------------------------------------------------------
def test_a_folder_with_dead_links_fails_with_production_urls(run_check: Callable[..., Any]) -> None:
    started = time.monotonic()
    out = run_check(str(BUILT), "--site-url", SITE_URL, "--crawlers", "1", "--progress", "plain")
    wall = time.monotonic() - started
    assert out.returncode == 1, out.stderr
    assert out.stdout.startswith(f"linkpatrol: FAILED - 5 dead links on {SITE_URL}\n"), out.stdout
    assert f"4 pages parsed, {BUILT_URLS} links checked" in out.stdout
    assert dead_in_text(out.stdout) == BUILT_DEAD
    # by page: each page with its broken links in the order of its source, the summary again at the end
    summary = out.stdout.split("\n\n", 1)[0] + "\n"
    assert out.stdout.endswith("\n" + summary) and "\nDead: 5 links on 3 pages\n" in out.stdout
    assert f"""
  {SITE_URL}
    line 10: {SITE_URL}removed.html  HTTP 404  "Removed page"
    line 11: {SITE_URL}old-page.html  HTTP 404  "Old page"
    line 13: {SITE_URL}img/missing.png  HTTP 404  "Missing picture"
""" in out.stdout
    took = re.findall(r"links checked in ([^:]+):", summary)[0]  # "7.3s", "12s", "1m 05s"
    seconds = float(took[:-1]) if "." in took else durations.parse(took)
    assert within_10_percent(seconds, wall), (seconds, wall)  # the time the user waited, start-up included
    # the absolute production link to a page the folder has is checked there, and alive
    assert f"{SITE_URL}guide/install.html  " not in out.stdout and "127.0.0.1" not in out.stdout
    assert "started 1 crawler process on a private Redis" in out.stderr


def test_a_clean_folder_passes(run_check: Callable[..., Any], tmp_path: Path) -> None:
    site = tmp_path / "public"
    (site / "blog").mkdir(parents=True)
    (site / "index.html").write_text('<a href="blog/">Blog</a> <a href="about">About (pretty URL)</a>')
    (site / "about.html").write_text('<a href="/">Home</a> <a href="/blog/#top">Blog top</a>')
    (site / "blog" / "index.html").write_text('<h1 id="top">Blog</h1><a href="../about.html">About</a>')
    out = run_check(str(site), "--progress", "bar", "--crawlers", "1")
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.fullmatch(rf"linkpatrol: passed - no dead links on {re.escape(str(site))}\n"
                        r"  4 pages parsed, 4 links checked in [0-9.]+s: 4 ok\n", out.stdout), out.stdout
    assert "checking" in out.stderr and "links/s" in out.stderr  # the tqdm bar, asked for on a pipe


@pytest.mark.parametrize("args, flag", [
    (["--crawlers", "0"], "--crawlers"),
    (["--fail-on", "dead,nonsense"], "--fail-on"),
    (["--format", "yaml"], "--format"),
    (["--max-pages", "0"], "--max-pages"),
    (["--accept", "99"], "--accept"),
    (["--site-url", "ftp://example.org/"], "--site-url"),
    (["--output", "/nonexistent-folder/report.xml"], "--output"),
    (["--timeout", "-1"], "--timeout"),
    (["--notify", "ops@example.org"], "--notify"),
])
def test_bad_input_names_the_option(run_check: Callable[..., Any], args: list[str], flag: str) -> None:
    out = run_check(str(BUILT), *args)
    assert out.returncode == 2, out.stderr
    assert flag in out.stderr and "Traceback" not in out.stderr and out.stdout == ""


def test_a_target_that_is_neither_a_folder_nor_a_url(run_check: Callable[..., Any]) -> None:
    out = run_check("no-such-folder")
    assert out.returncode == 2 and "URL|DIR: 'no-such-folder' is neither a folder nor an http(s) URL" in out.stderr


def test_argument_errors_are_in_plain_words(run_check: Callable[..., Any]) -> None:
    for args, message in ((["--timeout=abc"], "--timeout: must be a duration: seconds, or a number and a unit"),
                          (["--crawlers", "two"], "--crawlers: 'two' is not a whole number")):
        out = run_check(str(BUILT), *args)
        assert out.returncode == 2 and message in out.stderr, out.stderr
        assert "_seconds" not in out.stderr and "_positive" not in out.stderr and "invalid" not in out.stderr


def test_a_site_that_refuses_connections_is_exit_code_3(run_check: Callable[..., Any], refused_port: int) -> None:
    url = f"http://127.0.0.1:{refused_port}/"
    out = run_check(url, "--allow-private", "--crawlers", "1", "--progress", "none")
    assert out.returncode == 3, out.stdout + out.stderr
    assert f"error: cannot reach {url}: the server refused the connection; nothing was checked" in out.stderr
    assert out.stdout == "" and "dead link" not in out.stderr


def test_redis_unreachable_is_exit_code_3(run_check: Callable[..., Any], refused_port: int) -> None:
    out = run_check("http://127.0.0.1:9/", env=check_env(REDIS_URL=f"redis://127.0.0.1:{refused_port}/0"))
    assert out.returncode == 3, out.stderr
    assert f"cannot reach Redis at redis://127.0.0.1:{refused_port}/0" in out.stderr and "Traceback" not in out.stderr


def test_a_private_start_page_needs_allow_private(run_check: Callable[..., Any], site: SiteServer) -> None:
    out = run_check(site.url("main"), "--crawlers", "1", "--no-external")
    assert out.returncode == 3, out.stdout + out.stderr
    assert "was not fetched: address-not-allowed; pass --allow-private" in out.stderr


def test_https_is_verified_against_the_systems_certificates(run_check: Callable[..., Any], tmp_path: Path) -> None:
    """A check's crawlers import aiohttp without loading the system's certificates into aiohttp's own
    two contexts (crawler/download/unused_trust.py); the handler's context still has them. A site signed
    by a CA the system trusts (SSL_CERT_FILE here) is checked page by page; a self-signed one is dead for ``tls``;
    and without that CA the start page itself is refused."""
    made = certificates(tmp_path)
    site = SiteServer("trusted_tls", *(str(p) for p in (*made["good"], *made["self-signed"])))
    start = f"https://127.0.0.1:{site.ports['main']}/"
    try:
        out = run_check(start, "--allow-private", "--crawlers", "1", "--format", "json", "--progress", "none",
                        env=check_env(SSL_CERT_FILE=str(tmp_path / "ca.pem")))
        assert out.returncode == 1, out.stdout + out.stderr
        data = json.loads(out.stdout)
        found = {p["url"]: (p["outcome"], p["error"]) for p in data["problems"]}
        other = f"https://127.0.0.1:{site.ports['other']}/"
        assert found == {f"{start}gone.html": ("dead", None), other: ("dead", "tls")}
        assert data["crawl"]["pages_crawled"] == 2 and data["crawl"]["links_checked"] == 4
        refused = run_check(start, "--allow-private", "--crawlers", "1", "--progress", "none")
        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert "the TLS handshake failed or the certificate is not valid" in refused.stderr
    finally:
        site.stop()


def test_timeout_is_exit_code_3(run_check: Callable[..., Any], slow_site: SiteServer) -> None:
    started = time.monotonic()
    out = run_check(slow_site.url("main"), "--allow-private", "--crawlers", "1", "--timeout", "4")
    assert out.returncode == 3 and "--timeout: the crawl did not end within 4s" in out.stderr
    assert time.monotonic() - started < 15


# -- formats ------------------------------------------------------------------------------------------
def run_format(run_check: Callable[..., Any], outside: Path, fmt: str) -> tuple[str, str, float]:
    """The report written with --output, what the terminal got, and the wall time the run took."""
    report = outside / "report"
    started = time.monotonic()
    out = run_check(str(BUILT), "--site-url", SITE_URL, "--format", fmt, "--output", str(report),
                    "--crawlers", "1", "--progress", "none")
    wall = time.monotonic() - started
    assert out.returncode == 1, out.stderr
    assert out.stdout.startswith(f"linkpatrol: FAILED - 5 dead links on {SITE_URL}\n")  # the summary
    text = report.read_text()
    report.unlink()
    return text, out.stdout, wall


def test_json_report(run_check: Callable[..., Any], outside: Path) -> None:
    data = json.loads(run_format(run_check, outside, "json")[0])
    assert data["crawl"]["url"] == SITE_URL and data["crawl"]["state"] == "finished"
    assert data["crawl"]["outcomes"]["dead"] == 5 and data["failed"] == 5 and data["fail_on"] == ["dead"]
    assert {p["url"]: {(r["page"], r["text"]) for r in p["referrers"]} for p in data["problems"]} == BUILT_DEAD
    assert all(p["status"] == 404 and p["outcome"] == "dead" and p["external"] is False for p in data["problems"])
    removed = next(p for p in data["problems"] if p["url"] == f"{SITE_URL}removed.html")
    assert removed["referrers"][0]["line"] == 10  # the line of index.html the link is on


def test_csv_report(run_check: Callable[..., Any], outside: Path) -> None:
    rows = list(csv.DictReader(run_format(run_check, outside, "csv")[0].splitlines()))
    assert list(rows[0]) == ["url", "outcome", "status", "error", "external", "referring_page", "anchor_text",
                             "element", "line", "fragment", "cached_crawl", "cached_at"]
    found: dict[str, set[tuple[str, str]]] = {}
    for row in rows:
        found.setdefault(row["url"], set()).add((row["referring_page"], row["anchor_text"]))
    assert found == BUILT_DEAD
    assert next(r for r in rows if r["url"].endswith("missing.png"))["element"] == "img"


def test_markdown_report(run_check: Callable[..., Any], outside: Path) -> None:
    from tests.core.test_check_reports import markdown_sections, markdown_tables, page_rows

    text, _, wall = run_format(run_check, outside, "markdown")
    counts = markdown_tables(text)[0]
    row = dict(zip(counts[0], counts[1], strict=True))
    assert row["Dead"] == "5" and within_10_percent(float(row["Seconds"]), wall), (row, wall)
    [(title, (table, more))] = markdown_sections(text).items()
    assert title == "Dead: 5 links on 3 pages" and more == ""
    rows = page_rows(table)
    found: dict[str, set[tuple[str, str]]] = {}
    for page, _, url, _, anchor in rows:
        found.setdefault(url, set()).add((page, anchor.strip('"')))
    assert found == BUILT_DEAD
    assert rows[:3] == [[SITE_URL, line, f"{SITE_URL}{path}", "HTTP 404", f'"{anchor}"'] for line, path, anchor in (
        ("10", "removed.html", "Removed page"), ("11", "old-page.html", "Old page"),
        ("13", "img/missing.png", "Missing picture"))]


def test_junit_report(run_check: Callable[..., Any], outside: Path) -> None:
    text, _, wall = run_format(run_check, outside, "junit")
    doc = etree.fromstring(text.encode())
    etree.XMLSchema(etree.parse(str(ROOT / "tests" / "support" / "junit.xsd"))).assertValid(doc)
    # by page: a suite per page with broken links (each dead link here is on one page), then the links that work
    suites = {s.get("name"): s for s in doc.findall("testsuite")}
    assert list(suites) == [SITE_URL, f"{SITE_URL}guide/", f"{SITE_URL}guide/install.html",
                            f"linkpatrol {SITE_URL}: links that work"]
    cases = doc.findall("testsuite/testcase")
    assert len(cases) == BUILT_URLS and doc.get("tests") == str(BUILT_URLS) and doc.get("failures") == "5"
    failed = {(c.get("file"), c.get("name")): c for c in cases if c.find("failure") is not None}
    assert {name for _, name in failed} == set(BUILT_DEAD)
    removed = failed[(SITE_URL, f"{SITE_URL}removed.html")]
    assert removed.get("line") == "10" and removed.get("classname") == SITE_URL
    assert removed.find("failure").get("message") == f'dead: HTTP 404; "Removed page" (line 10) on {SITE_URL}'
    assert within_10_percent(float(doc.get("time")), wall), (doc.get("time"), wall)


def test_a_note_names_the_users_url(run_check: Callable[..., Any], tmp_path: Path) -> None:
    """The per-page cap note names the page at --site-url, not the temporary server check serves it on."""
    site = tmp_path / "public"
    site.mkdir()
    (site / "index.html").write_text('<a href="contents.html">Contents</a>')
    (site / "contents.html").write_text("".join(f'<a href="p{i}.html">Part {i}</a>\n' for i in range(6)))
    for n in range(6):
        (site / f"p{n}.html").write_text("part")
    out = run_check(str(site), "--site-url", SITE_URL, "--crawlers", "1", "--progress", "none",
                    env=check_env(LINKPATROL_MAX_LINKS_PER_PAGE="3"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert (f"  note: 3 links not followed: page {SITE_URL}contents.html had more than the per-page cap of 3 "
            "distinct targets\n") in out.stdout
    assert "127.0.0.1" not in out.stdout + out.stderr


def test_a_url_on_shared_crawlers(run_check: Callable[..., Any], redis_url: str, site: SiteServer,
                                  refused_port: int, crawlers: Callable[..., CrawlerProcess]) -> None:
    """With REDIS_URL the crawl runs on the crawlers already there, and check starts none."""
    crawlers()
    out = run_check(site.url("main"), "--format", "json", "--progress", "plain",
                    env=check_env(REDIS_URL=redis_url))
    assert out.returncode == 1, out.stderr
    assert "crawler process" not in out.stderr and "linkpatrol: FAILED" in out.stderr
    data = json.loads(out.stdout)
    truth = fixture.truth(site.ports, refused_port)
    got = {p["url"]: (p["status"] if p["status"] is not None else p["error"], p["outcome"],
                      {(r["page"], r["text"]) for r in p["referrers"]}) for p in data["problems"]}
    assert truth.items() <= got.items()
    dead = {url for url, (_, outcome, _) in got.items() if outcome == "dead"}
    assert dead == {url for url, (_, outcome, _) in truth.items() if outcome == "dead"}
    assert data["failed"] == len(dead)


def test_a_timeout_on_shared_crawlers_cancels_the_crawl(run_check: Callable[..., Any], redis_url: str,
                                                       store: CrawlStore, slow_site: SiteServer,
                                                       crawlers: Callable[..., CrawlerProcess]) -> None:
    crawlers()
    out = run_check(slow_site.url("main"), "--timeout", "3", env=check_env(REDIS_URL=redis_url))
    assert out.returncode == 3 and "--timeout" in out.stderr, out.stderr
    [crawl] = store.list()
    assert crawl.state == "cancelled"


def test_help_documents_the_exit_codes(run_check: Callable[..., Any]) -> None:
    out = run_check("--help")
    assert out.returncode == 0
    codes = out.stdout.split("exit codes:", 1)[1]
    for line in ("0  nothing failed", "1  links failed", "2  bad input", "3  the run could not complete"):
        assert line in codes


# -- stopping -----------------------------------------------------------------------------------------
def test_ctrl_c_mid_crawl_leaves_nothing(outside: Path, slow_site: SiteServer) -> None:
    hits_before = sum(slow_site.hits("main").values())
    args = command(slow_site.url("main"), "--allow-private", "--crawlers", "2", "--progress", "plain")
    with subprocess.Popen(args, cwd=outside, env=check_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        try:
            me = psutil.Process(proc.pid)
            wait_for(lambda: sum(slow_site.hits("main").values()) > hits_before + 20, 30,
                     what="the crawl to be under way")
            children = me.children(recursive=True)
            redis = [c for c in children if "redis-server" in c.name()]
            assert len(children) == 3 and len(redis) == 1, [c.cmdline() for c in children]
            [port] = [c.laddr.port for c in redis[0].net_connections("tcp") if c.status == psutil.CONN_LISTEN]
            mine = temp_folders(proc.pid)
            assert len(mine) == 1
            proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=30)
        finally:
            stop(proc)
    assert proc.returncode == 3 and "interrupted (SIGINT)" in stderr, stderr
    assert stdout == ""
    assert [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE] == []
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "Redis still listens"
    assert not any(p.exists() for p in mine)


def test_crawlers_end_when_their_check_is_killed(outside: Path, slow_site: SiteServer, redis_url: str) -> None:
    """SIGKILL gives the command no chance to stop what it started (a CI job's timeout): its crawlers see
    their input end with it and stop on their own, giving their leases back, on a shared Redis where they
    would otherwise crawl on for no one."""
    hits_before = sum(slow_site.hits("main").values())
    args = command(slow_site.url("main"), "--allow-private", "--crawlers", "2", "--progress", "none")
    with subprocess.Popen(args, cwd=outside, env=check_env(REDIS_URL=redis_url), stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL) as proc:
        try:
            wait_for(lambda: sum(slow_site.hits("main").values()) > hits_before + 20, 30,
                     what="the crawl to be under way")
            crawlers = crawler_children(proc.pid)
            assert len(crawlers) == 2
            proc.kill()
        finally:
            stop(proc)
    wait_for(lambda: not running(crawlers), 15, what="the crawlers of the killed check ended")
    client = redis.Redis.from_url(redis_url)
    try:
        assert list_crawlers(client, Keys()) == []  # each said goodbye: it stopped, it was not killed
    finally:
        client.close()


def test_two_runs_at_once_do_not_collide(outside: Path) -> None:
    args = command(str(BUILT), "--site-url", SITE_URL, "--crawlers", "1", "--format", "json", "--progress", "none")
    with (subprocess.Popen(args, cwd=outside, env=check_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True) as one,
          subprocess.Popen(args, cwd=outside, env=check_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True) as two):
        try:
            results = [one.communicate(timeout=60), two.communicate(timeout=60)]
        finally:
            stop(one)
            stop(two)
    for proc, (stdout, stderr) in zip((one, two), results, strict=True):
        assert proc.returncode == 1, stderr
        assert {p["url"] for p in json.loads(stdout)["problems"]} == set(BUILT_DEAD)
    ids = {json.loads(stdout)["crawl"]["id"] for stdout, _ in results}
    remaps = {next(iter(json.loads(stdout)["crawl"]["options"]["remap"].values())) for stdout, _ in results}
    assert len(ids) == 2 and len(remaps) == 2  # two crawls, two folder servers
    assert temp_folders(one.pid) | temp_folders(two.pid) == set()


# -- the folder server --------------------------------------------------------------------------------
def test_the_folder_server_answers_as_a_static_host(tmp_path: Path) -> None:
    (tmp_path / "guide").mkdir()
    (tmp_path / "empty").mkdir()
    (tmp_path / "index.html").write_text("home")
    (tmp_path / "guide" / "index.html").write_text("guide")
    (tmp_path / "pretty.html").write_text("pretty")
    server = FolderServer(tmp_path, mount="/docs/", outside="https://example.org").start()

    def get(path: str) -> tuple[int, str, str]:
        request = urllib.request.Request(server.origin + path)
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=5) as resp:
                return resp.status, resp.read().decode(), ""
        except urllib.error.HTTPError as exc:
            return exc.code, "", exc.headers.get("Location", "")

    try:
        assert get("/docs/") == (200, "home", "")
        assert get("/docs/guide/") == (200, "guide", "")
        assert get("/docs/pretty") == (200, "pretty", "")
        assert get("/docs/guide")[:1] == (301,) and get("/docs/guide")[2].endswith("/docs/guide/")
        assert get("/docs") == (301, "", "/docs/")
        assert get("/docs/empty/")[0] == 404  # no listing for a crawler to follow
        assert get("/docs/missing.html")[0] == 404
        assert get("/blog/?page=2") == (308, "", "https://example.org/blog/?page=2")
        assert get("/robots.txt")[0] == get("/sitemap.xml")[0] == 404  # what the crawler asks for itself
        assert get("/docs/../index.html")[0] in (200, 308)  # never a file outside the folder
    finally:
        server.stop()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def escaping_folder(tmp_path: Path) -> Path:
    """A folder whose symlinks leave it (a folder, a file, through a folder's index and a pretty URL),
    with a device, a FIFO and a socket, beside symlinks that stay inside."""
    private = tmp_path / "private"
    private.mkdir()
    (private / "secret.txt").write_text("s3cret")
    (private / "index.html").write_text("private index s3cret")
    site = tmp_path / "public"
    (site / "guide").mkdir(parents=True)
    (site / "trap").mkdir()
    (site / "guide" / "index.html").write_text("guide")
    (site / "etcdir").symlink_to("/etc")
    (site / "outdir").symlink_to(private)
    (site / "secret.txt").symlink_to(private / "secret.txt")
    (site / "about.html").symlink_to(private / "secret.txt")  # served for /about, were it inside
    (site / "trap" / "index.html").symlink_to(private / "index.html")
    (site / "zero").symlink_to("/dev/zero")
    os.mkfifo(site / "pipe")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(site / "sock"))
    sock.close()
    (site / "alias.html").symlink_to("index.html")  # inside: served
    (site / "guide-link").symlink_to("guide")
    links = ["etcdir/passwd", "etcdir/", "outdir/secret.txt", "secret.txt", "about", "trap/", "zero", "pipe",
             "sock", "alias.html", "guide-link/"]
    (site / "index.html").write_text("".join(f'<a href="{link}">{link}</a>\n' for link in links))
    return site


ESCAPES = {  # path -> the 404's reason
    "/etcdir/passwd": "Outside the checked folder", "/etcdir/": "Outside the checked folder",
    "/etcdir": "Outside the checked folder", "/outdir/secret.txt": "Outside the checked folder",
    "/outdir/": "Outside the checked folder", "/secret.txt": "Outside the checked folder",
    "/about": "Outside the checked folder", "/trap/": "Outside the checked folder",
    "/zero": "Outside the checked folder",  # /dev/zero
    "/pipe": "Not a regular file", "/sock": "Not a regular file",
}


def test_the_folder_server_serves_only_regular_files_inside_the_folder(tmp_path: Path) -> None:
    server = FolderServer(escaping_folder(tmp_path)).start()

    def get(path: str, method: str = "GET") -> tuple[int, str]:
        request = urllib.request.Request(server.origin + path, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    try:
        started = time.monotonic()
        for path, why in ESCAPES.items():
            status, body = get(path)
            assert status == 404 and why in body and "s3cret" not in body and "root:" not in body, (path, body)
            assert get(path, "HEAD")[0] == 404, path
        assert time.monotonic() - started < 10  # neither the FIFO nor /dev/zero held a thread
        assert get("/alias.html")[0] == 200 and 'href="pipe"' in get("/alias.html")[1]
        assert get("/guide-link/") == (200, "guide")
        assert get("/guide/") == (200, "guide")
        assert get("/")[0] == 200
    finally:
        server.stop()


def test_a_check_of_a_folder_with_escaping_links_reports_them_404_promptly(
        run_check: Callable[..., Any], tmp_path: Path, outside: Path) -> None:
    site = escaping_folder(tmp_path)
    report = outside / "report"
    started = time.monotonic()
    out = run_check(str(site), "--crawlers", "1", "--progress", "none", "--format", "json",
                    "--output", str(report))
    elapsed = time.monotonic() - started
    assert out.returncode == 1, out.stdout + out.stderr
    problems = {p["url"].lstrip("/"): (p["outcome"], p["status"], p["error"])
                for p in json.loads(report.read_text())["problems"]}
    report.unlink()
    assert problems == {link: ("dead", 404, None) for link in ("etcdir/passwd", "etcdir/", "outdir/secret.txt",
                                                               "secret.txt", "about", "trap/", "zero", "pipe",
                                                               "sock")}
    assert elapsed < 45, elapsed  # no link waited for a timeout


@pytest.fixture(scope="module")
def spa() -> Iterator[SiteServer]:
    server = SiteServer("spa")
    yield server
    server.stop()


@pytest.mark.skipif(not os.access("/usr/bin/chromium", os.X_OK), reason="no /usr/bin/chromium (make system-deps)")
def test_render_finds_the_dead_links_a_browser_sees(run_check: Callable[..., Any], spa: SiteServer) -> None:
    """A single-page app checked for CI: the HTML as sent holds no dead link; with --render always the
    crawlers check starts load each page in chromium and find the three its scripts show or request."""
    base = spa.url("main").rstrip("/")
    env = check_env(LINKPATROL_RENDER_SETTLE="1")
    plain = run_check(spa.url("main"), "--allow-private", "--crawlers", "1", "--no-sitemaps", "--format", "json",
                      "--progress", "none", env=env)
    assert plain.returncode == 0, plain.stderr
    rendered = run_check(spa.url("main"), "--allow-private", "--crawlers", "1", "--no-sitemaps", "--render",
                         "always", "--format", "json", "--progress", "none", env=env, timeout=120)
    assert rendered.returncode == 1, rendered.stderr
    dead = {p["url"].removeprefix(base) for p in json.loads(rendered.stdout)["problems"] if p["outcome"] == "dead"}
    assert dead == {"/docs/gone", "/dead-from-api", "/img/missing.png"}


def test_render_without_a_browser_is_bad_input(run_check: Callable[..., Any], spa: SiteServer) -> None:
    out = run_check(spa.url("main"), "--allow-private", "--render", "auto", "--progress", "none",
                    env=check_env(LINKPATROL_CHROMIUM="/nonexistent/chromium"))
    assert out.returncode == 2 and "--render" in out.stderr and "/nonexistent/chromium" in out.stderr, out.stderr


def crawler_children(pid: int) -> set[int]:
    """The crawler processes process ``pid`` started (``python -m crawler.run``)."""
    try:
        children = psutil.Process(pid).children()
    except psutil.NoSuchProcess:
        return set()
    found = set()
    for child in children:
        with contextlib.suppress(psutil.Error):
            if "crawler.run" in child.cmdline():
                found.add(child.pid)
    return found


def running(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.add(pid)
    return alive


@pytest.mark.parametrize(("args", "started"), [
    (("not a url",), True),
    (("https://example.org/", "--fail-on", "nonsense"), True),
    (("https://example.org/", "--crawlers", "2", "--help"), False),
])
def test_the_crawlers_started_before_the_options_are_read_end_with_a_check_that_stops_early(
        outside: Path, args: tuple[str, ...], started: bool) -> None:
    """A check starts its crawler processes before it has read its options (they take longer to start
    than it does to read them); when the options are wrong, those crawlers end with it: nothing of the
    run is left running, and no temporary folder. A check that only prints its help starts none."""
    seen: set[int] = set()
    with subprocess.Popen(command(*args), cwd=outside, env=check_env(), stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True) as proc:
        while proc.poll() is None:
            seen |= crawler_children(proc.pid)
            time.sleep(0.02)
        assert proc.stderr is not None
        assert proc.returncode == (2 if started else 0), proc.stderr.read()
    assert bool(seen) == started
    wait_for(lambda: not running(seen), 20, what="the check's crawlers ended")
    assert temp_folders(proc.pid) == set()
