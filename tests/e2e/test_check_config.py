"""``linkpatrol check`` run as a CI job runs it, in a folder that holds a ``linkpatrol.toml``: the file's
options shape the run (the page budget, the excluded link, the report's format) and a flag wins; and a
check on a shared service, which is no site's crawl."""

from __future__ import annotations

import subprocess
from pathlib import Path

from flask.testing import FlaskClient

from linkpatrol.store.crawls import CrawlStore
from tests.e2e.test_check import BUILT, SITE_URL, check_env, command, stop

CONFIG = f"""\
site-url = "{SITE_URL}"
max-pages = 1
exclude = ["old-page"]
format = "markdown"
crawlers = 1
progress = "plain"
"""


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    with subprocess.Popen(command(str(BUILT), *args), cwd=cwd, env=check_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=90)
        finally:
            stop(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def test_a_config_file_sets_the_runs_options(tmp_path: Path) -> None:
    (tmp_path / "linkpatrol.toml").write_text(CONFIG)
    out = run(tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "linkpatrol: options from linkpatrol.toml" in out.stderr
    # format = "markdown"
    assert out.stdout.startswith("## linkpatrol: 2 dead links\n"), out.stdout
    # max-pages = 1: only the start page was parsed, so the dead links of guide/ were never found
    assert "page budget reached (1 page)" in out.stdout and "removed-too.html" not in out.stdout
    # exclude = ["old-page"]: the start page's link to old-page.html is excluded, not dead
    assert "### Excluded: 1 link on 1 page" in out.stdout
    assert f"| 11 | <{SITE_URL}old-page.html> | excluded-by-rule" in out.stdout
    assert f"| 10 | <{SITE_URL}removed.html> | HTTP 404 |" in out.stdout  # site-url: production URLs

    # a flag wins over the file; the rest of the file still holds
    out = run(tmp_path, "--format", "text", "--progress", "none")
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stdout.startswith(f"linkpatrol: FAILED - 2 dead links on {SITE_URL}\n"), out.stdout
    assert "1 pages parsed" in out.stdout and "1 excluded" in out.stdout and out.stderr == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["linkpatrol.toml"]


def test_a_check_on_a_shared_service_is_no_site(tmp_path: Path, redis_url: str, store: CrawlStore,
                                                client: FlaskClient) -> None:
    """``REDIS_URL=... linkpatrol check DIR``: the folder's temporary server does not become a site."""
    with subprocess.Popen(command(str(BUILT), "--crawlers", "1", "--progress", "none", "--no-config"), cwd=tmp_path,
                          env=check_env(REDIS_URL=redis_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=90)
        finally:
            stop(proc)
    assert proc.returncode == 1, stdout + stderr
    [crawl] = store.list()
    assert crawl.origin == "check" and crawl.url.startswith("http://127.0.0.1:") and crawl.dead > 0
    assert store.sites() == [] and store.count(checks=False) == 0
    home = client.get("/").get_data(as_text=True)
    assert 'id="sites"' not in home and f'<tr data-check-crawl="{crawl.id}">' in home
