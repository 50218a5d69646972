"""The one item the spider produces: what checking one frontier message found.

The item is the record the frontier stores, ``linkpatrol.model.wire.Completion`` (a dataclass, which
Scrapy and ``itemadapter.ItemAdapter`` take as an item): the spider fills it, the pipeline hands it to
the frontier as it is, and the downloader middlewares that watch ``item_scraped`` read the same object.
"""

from __future__ import annotations

from linkpatrol.model.wire import Completion

CheckedLink = Completion
