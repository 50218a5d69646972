"""The reports blueprint: a crawl's report page, the page of one link, and the report queries and
exports behind them."""

from web.reports.views import bp

__all__ = ["bp"]
