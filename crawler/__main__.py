from linkpatrol.cli.entry import main

raise SystemExit(main())
