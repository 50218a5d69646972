"""Crawler processes started before ``linkpatrol check`` has read its options, told them afterwards.

A crawler takes about 0.4 s to start, most of it importing Scrapy, aiohttp and our crawler, and the
check command itself about 0.17 s to import what reads its options; started one after the other they
cost every check (a CI job's) both. So the command's first step (``linkpatrol.cli.entry``), before its
own imports, starts the crawler processes it is about to need, ``warm``: each imports what does not
depend on the environment (``python -m crawler.run`` with ``LINKPATROL_WARM=1``), then waits for one
line on its standard input, the environment the check decided (the private Redis's address, private
addresses allowed for a folder, rendering...), and only then reads its settings and starts. The check
hands them out through ``take`` (``LocalServices.start_crawlers``) and starts cold ones for any more it
needs, the same way. One that is never handed out (bad input, ``--help``, fewer needed) is killed when
the command exits; one whose command dies reads the end of its input and exits by itself, before it
was told its environment or after (the command keeps each crawler's input open while it runs: a check
killed by a CI job's timeout leaves no crawler working on).

How many to start is read here from the command line as typed, by the rule the check's ``Plan`` applies
to its parsed options (``local_crawlers``). Everything else stays the check's.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

TEMP_PREFIX = "linkpatrol-check-"  # + the command's pid: the temporary folder of a run (tests look for leftovers)
# A crawler process as ``scrapy crawl links`` runs it, without Scrapy's command line (crawler/run.py: the
# Scrapy project's own room; the core only names the module).
CRAWLER_COMMAND = (sys.executable, "-m", "crawler.run")
WARM = "LINKPATROL_WARM"  # set to 1: crawler/run.py imports, then reads its environment from stdin


def default_crawlers() -> int:
    """One crawler process per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def local_crawlers(asked: int | None, env: Mapping[str, str]) -> int:
    """The crawler processes a check starts on this machine: ``--crawlers`` when given, else none on a
    shared Redis (REDIS_URL: the shared crawlers do the work) and one per CPU on its private one."""
    if asked is not None:
        return asked
    return 0 if env.get("REDIS_URL") else default_crawlers()


def wanted(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """How many crawlers ``linkpatrol <argv>`` will start on this machine, read from the command line
    as typed (0 when it is no check, asks for help, or will run on the shared crawlers). A guess the
    check's own parsing may overrule: what it does not take is killed, what it needs more is started."""
    if not argv or argv[0] != "check" or "-h" in argv or "--help" in argv:
        return 0
    for i, arg in enumerate(argv):
        value = arg.partition("=")[2] if arg.startswith("--crawlers=") else \
            argv[i + 1] if arg == "--crawlers" and i + 1 < len(argv) else None
        if value is not None:
            return local_crawlers(int(value), env) if value.isdigit() else 0  # else the check says what is wrong
    return local_crawlers(None, env)


def launch(log: IO[bytes]) -> subprocess.Popen[bytes]:
    """A crawler process, importing, its output in ``log``, in a session of its own (the terminal's ^C
    is the command's to handle; the check stops the crawler's whole group). It starts once ``tell``
    gives it its environment."""
    return subprocess.Popen(CRAWLER_COMMAND, env={**os.environ, WARM: "1"}, stdin=subprocess.PIPE,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def tell(proc: subprocess.Popen[bytes], env: Mapping[str, str]) -> bool:
    """Give a launched crawler ``env``, its whole environment from now on; False when it has died.
    Its input stays open: its end is this command's (``crawler.run.end_with_the_command``)."""
    assert proc.stdin is not None
    try:
        proc.stdin.write(json.dumps(dict(env)).encode() + b"\n")
        proc.stdin.flush()
    except OSError:
        return False
    return True


class _Pool:
    def __init__(self) -> None:
        self.folder: Path | None = None
        self.waiting: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []  # (process, its log)

    def start(self, count: int) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-"))
        for number in range(1, count + 1):
            log = open(self.folder / f"crawler-{number}.log", "wb")  # noqa: SIM115 - handed out, or closed at exit
            self.waiting.append((launch(log), log))
        atexit.register(self.close)

    def take(self, env: Mapping[str, str]) -> tuple[subprocess.Popen[bytes], IO[bytes]] | None:
        """A started crawler, told ``env`` (its whole environment from now on), with its log; None when
        none is waiting."""
        while self.waiting:
            proc, log = self.waiting.pop(0)
            if tell(proc, env):
                return proc, log
            log.close()  # it died while it waited (killed by someone): the next one, or a cold start
        return None

    def adopt(self) -> Path | None:
        """The folder the started crawlers log into, handed once to the check's services, which use and
        remove it."""
        folder, self.folder = self.folder, None
        return folder

    def close(self) -> None:
        """Kill what was never handed out; remove the folder unless the check's services took it."""
        for proc, log in self.waiting:
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait(5)
            with contextlib.suppress(OSError):  # BrokenPipe: what a write of ours left in its buffer
                if proc.stdin is not None:
                    proc.stdin.close()
            log.close()
        self.waiting = []
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


_pool = _Pool()


def start(count: int) -> None:
    """Start ``count`` warm crawlers for this process's check (once)."""
    if count > 0 and _pool.folder is None and not _pool.waiting:
        _pool.start(count)


take = _pool.take
adopt = _pool.adopt
close = _pool.close
