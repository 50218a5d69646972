"""The sites blueprint: a site (the crawls of one start URL) with its crawls and their trend."""

from web.sites.views import bp

__all__ = ["bp"]
