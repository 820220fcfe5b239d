"""``python -m ember``: the ember command line (see :mod:`ember.cli`)."""

from .cli import main

raise SystemExit(main())
