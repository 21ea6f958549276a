"""`python -m scripts.ha_bootstrap`: scripts/develop."""

import sys

from .develop import main

sys.exit(main())
