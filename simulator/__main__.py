"""`python -m simulator`: same as scripts/simulate_meter."""

from .cli import main

raise SystemExit(main())
