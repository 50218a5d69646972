"""``linkpatrol check URL|DIR``: one crawl of a site or a folder of built HTML, for CI.

``runner`` runs it (what to start, the crawl, the exit code), ``services`` starts and stops the
private Redis and crawler processes, ``folder`` serves a folder on loopback, ``reports`` writes the
text, JSON, CSV, Markdown and JUnit reports, ``progress`` shows how far it got on stderr.
"""

from linkpatrol.cli.check.runner import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INCOMPLETE,
    EXIT_OK,
    CheckRequest,
    process_started,
    run,
)

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_INCOMPLETE", "EXIT_OK", "CheckRequest", "process_started", "run"]
