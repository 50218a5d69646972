"""The crawls blueprint: the home page (the form and the crawl list with live progress), creating,
re-running, cancelling and deleting crawls."""

from web.crawls.views import bp

__all__ = ["bp"]
