"""Allow ``python -m bridge``."""

from bridge.entrypoints.cli import main

raise SystemExit(main())
