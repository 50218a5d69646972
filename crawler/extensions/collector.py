"""Python's cyclic garbage collector in a crawler process.

A crawler's start-up (imports, settings, components, Lua scripts) makes a few hundred thousand objects
that live as long as the process and no cyclic garbage worth collecting, yet the collector walks them
all: in full twice during a start (about 0.1 s of a 0.6 s start, which ``linkpatrol check`` pays on
every run), and again at every full collection of a crawl. So ``python -m crawler.run`` pauses the
collector before its imports (``pause``), and this extension, once the engine runs, freezes what start-up
built (``gc.freeze``: moved out of every generation, never walked again) and lets collection resume.
Under ``scrapy crawl`` (the service's crawlers) the collector runs through start-up as usual; the freeze
still spares the crawl's full collections what start-up built.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:  # this module is imported before anything else, so that pause() comes first
    from scrapy.crawler import Crawler

_frozen = False  # once per process: a second freeze (another crawler in one process, tests) would keep
# everything the first crawl made out of collection for good


def pause() -> None:
    """No cyclic collection until the engine runs (a crawler process's first step)."""
    gc.disable()


def resume() -> None:
    """What was made so far is frozen (once per process) and collection resumes."""
    global _frozen
    if not _frozen:
        gc.freeze()
        _frozen = True
    gc.enable()


class StartupCollector:
    """Resumes collection when the engine has started (``resume``)."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        from scrapy import signals

        extension = cls()
        crawler.signals.connect(extension.engine_started, signal=signals.engine_started)
        return extension

    def engine_started(self) -> None:
        resume()
