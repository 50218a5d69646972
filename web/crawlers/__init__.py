"""The crawlers blueprint: the live crawler processes, ``/workers`` and ``/workers.json``."""

from web.crawlers.views import bp

__all__ = ["bp"]
