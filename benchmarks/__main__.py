"""Entry point of ``python -m benchmarks``."""

import sys

from .runner import main

sys.exit(main())
