"""Scrapy's in-memory stats, without the per-access shim.

Scrapy 2.19's ``StatsCollector`` overrides ``__getattribute__`` to warn about a deprecated ``spider``
argument: every attribute read, its own ``self._stats`` included, formats a name and raises and catches
an AttributeError first. A crawler counts several stats per url, so that was about 2% of its CPU in a
profile. Nothing here passes ``spider=``; the counting itself is Scrapy's, unchanged.
"""

from __future__ import annotations

from scrapy.statscollectors import MemoryStatsCollector


class PlainStatsCollector(MemoryStatsCollector):
    __getattribute__ = object.__getattribute__
