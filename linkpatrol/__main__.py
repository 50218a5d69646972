"""``python -m linkpatrol ...``: the operator's command line (``linkpatrol.cli``)."""

from linkpatrol.cli import main

raise SystemExit(main())
