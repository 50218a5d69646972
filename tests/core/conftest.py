"""Fixtures of the core's tests that drive the frontier's scripts directly against the test Redis."""

from __future__ import annotations

import pytest

from linkpatrol.frontier import Scripts
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from tests.support.frontier import Client


@pytest.fixture
def keys(store: CrawlStore) -> Keys:
    return store.keys


@pytest.fixture
def scripts(rclient: Client, keys: Keys) -> Scripts:
    return Scripts(rclient, keys)
