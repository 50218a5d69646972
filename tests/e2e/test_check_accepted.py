"""``linkpatrol check --site-url`` run against the service (``REDIS_URL``) honours the links the site's
owner accepted there: they do not fail the check, they are listed apart, and one that is no longer
accepted fails it again."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from linkpatrol.reports.accepted import AcceptedLinks
from linkpatrol.store.crawls import CrawlStore
from tests.e2e.test_check import BUILT, BUILT_DEAD, SITE_URL, check_env, command, stop


def check(outside: Path, redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    with subprocess.Popen(command(str(BUILT), "--site-url", SITE_URL, "--crawlers", "1", "--progress", "none",
                                  *args),
                          cwd=outside, env=check_env(REDIS_URL=redis_url), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=90)
        finally:
            stop(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def test_accepted_links_do_not_fail_a_check_against_the_service(redis_url: str, store: CrawlStore,
                                                                tmp_path: Path) -> None:
    accepted = AcceptedLinks(store)
    for url in BUILT_DEAD:
        accepted.accept(SITE_URL, url, "alice", "known")

    out = check(tmp_path, redis_url)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("linkpatrol: passed - no dead links")
    assert f"Accepted (known, not counted, never failing): {len(BUILT_DEAD)} links" in out.stdout
    assert f"{len(BUILT_DEAD)} accepted" in out.stdout.splitlines()[1]
    listed = out.stdout.split("Accepted (known", 1)[1]
    assert all(f"  {url}  HTTP 404" in listed for url in BUILT_DEAD)

    undone = sorted(BUILT_DEAD)[0]
    accepted.remove(SITE_URL, undone)
    out = check(tmp_path, redis_url, "--format", "json")
    assert out.returncode == 1, out.stderr
    data = json.loads(out.stdout)
    assert data["failed"] == 1 and [p["url"] for p in data["problems"] if p["outcome"] == "dead"] == [undone]
    assert sorted(p["url"] for p in data["accepted"]) == sorted(set(BUILT_DEAD) - {undone})
