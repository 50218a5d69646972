"""``python -m linkpatrol ...``: the operator's command line (``linkpatrol.cli.main``)."""

from linkpatrol.cli.main import main

raise SystemExit(main())
