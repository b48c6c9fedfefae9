from sihha_kit.devtools import main

raise SystemExit(main())
