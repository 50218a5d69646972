"""linkinator, the peer the crawl benchmark compares with (``bench/crawl.py``).

The version is pinned in ``bench/package.json``; ``ensure()`` installs it with npm into ``bench/.node/``
(not committed) the first time, when node and npm are there. ``run()`` crawls a site with it as its
users do (``linkinator URL --recurse``, its default concurrency of 100, no robots.txt, no politeness)
and times the whole command, start-up and exit included.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / ".node"
BIN = NODE_DIR / "node_modules" / ".bin" / "linkinator"


def version() -> str:
    return str(json.loads((HERE / "package.json").read_text())["dependencies"]["linkinator"])


def ensure() -> str | None:
    """The path of the linkinator command, installed if needed; None (with the reason printed) when
    node or npm is missing or the install failed."""
    installed = NODE_DIR / "node_modules" / "linkinator" / "package.json"
    if installed.exists() and json.loads(installed.read_text())["version"] == version():
        return str(BIN)
    if not (shutil.which("node") and shutil.which("npm")):
        print("linkinator rows skipped: node and npm are not installed")
        return None
    NODE_DIR.mkdir(exist_ok=True)
    shutil.copy(HERE / "package.json", NODE_DIR / "package.json")
    out = subprocess.run(["npm", "install", "--prefix", str(NODE_DIR), "--no-package-lock", "--no-audit", "--no-fund"],
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0 or not BIN.exists():
        print(f"linkinator rows skipped: npm install failed: {out.stderr.strip()[-500:]}")
        return None
    return str(BIN)


def run(command: str, url: str, *flags: str) -> dict[str, Any]:
    """One crawl: wall and CPU seconds of the command, the urls it checked, the broken ones."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    out = subprocess.run([command, url, "--recurse", "--format", "json", *flags], capture_output=True, text=True,
                         timeout=900)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode not in (0, 1):  # 1: broken links found
        raise RuntimeError(f"linkinator exited with {out.returncode}: {out.stderr[-500:]}")
    links = json.loads(out.stdout)["links"]
    return {"seconds": wall, "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "urls": len({link["url"] for link in links}),
            "dead": {link["url"] for link in links if link["state"] == "BROKEN"}}
