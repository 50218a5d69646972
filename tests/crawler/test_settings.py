"""What the crawler's settings make of their environment (crawler/settings.py), where it is not seen in a
crawl's results."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.processes import ROOT


@pytest.mark.parametrize(("level", "versions_built"), [
    ("INFO", True), ("debug", True), ("WARNING", False), ("error", False), ("30", False), ("20", True),
])
def test_scrapys_line_of_versions_is_built_only_when_info_is_logged(level: str, versions_built: bool) -> None:
    """Scrapy builds its INFO line of versions at every start (package metadata, ``uname -p`` in a
    process of its own): not when the log level hides it."""
    code = ("import logging; from scrapy.settings import Settings; from scrapy.utils.log import log_scrapy_info; "
            "import crawler.settings as s; import platform, subprocess; started = []; "
            "real = subprocess.Popen.__init__; "
            "subprocess.Popen.__init__ = lambda self, *a, **k: (started.append(a[0]), real(self, *a, **k))[1]; "
            "settings = Settings(); settings.setmodule(s); log_scrapy_info(settings); print(bool(started))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "LINKPATROL_LOG_LEVEL": level})
    assert out.stdout.split() == [str(versions_built)], out.stderr
