"""A crawler's Redis clients from its Scrapy settings (``crawler.extensions.frontier.redis_from_settings``):
REDIS_URL and REDIS_PARAMS read through scrapy-redis's connection module, the caller's parameters over
them, the core's client classes whatever REDIS_PARAMS names."""

from __future__ import annotations

from scrapy.settings import Settings

from crawler.extensions.frontier import redis_from_settings
from linkpatrol.store.connection import AsyncClient, SyncClient


def test_the_client_follows_the_settings_and_the_callers_parameters(redis_url: str) -> None:
    settings = Settings({"REDIS_URL": redis_url,
                         "REDIS_PARAMS": {"socket_timeout": 7, "redis_cls": "redis.Redis"},
                         "UNRELATED": {"a": [1, 2]}})
    client = redis_from_settings(settings, SyncClient, socket_connect_timeout=3)
    try:
        assert type(client) is SyncClient  # the core's class, not the one REDIS_PARAMS names
        kwargs = client.connection_pool.connection_kwargs
        assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (7, 3)
        assert client.ping()  # at REDIS_URL
    finally:
        client.close()
    assert type(redis_from_settings(settings)) is AsyncClient
    assert settings.getdict("REDIS_PARAMS")["redis_cls"] == "redis.Redis"  # the settings left as they were
