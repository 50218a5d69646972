"""The ``linkpatrol`` command (and ``python -m linkpatrol``): its first step, before any import that
takes time. A check that is going to start crawler processes has them started now, warm
(``linkpatrol.cli.warm_crawlers``), so that their start-up overlaps the command's own; then the command
line (``linkpatrol.cli.main``) runs as it always did."""

from __future__ import annotations

import contextlib
import os
import sys

from linkpatrol.cli import warm_crawlers


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    warm_crawlers.start(warm_crawlers.wanted(argv, os.environ))
    from linkpatrol.cli.main import main as run  # the imports this module exists to put after the start

    code = run(argv)
    if argv[:1] == ["check"]:
        # Everything the check started is stopped and its report written: the interpreter's own
        # teardown of a few thousand modules (40 ms, several times that on a busy machine) would only
        # lengthen the wait its report states.
        warm_crawlers.close()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError):  # `linkpatrol check ... | head`: the reader left
                stream.flush()
        os._exit(code)
    return code
