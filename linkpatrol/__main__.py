"""``python -m linkpatrol ...``: the operator's command line (``linkpatrol.cli.entry``)."""

from linkpatrol.cli.entry import main

raise SystemExit(main())
