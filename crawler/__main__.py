from linkpatrol.cli.main import main

raise SystemExit(main())
