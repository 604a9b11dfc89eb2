"""``python -m crmsync.conformance``."""

import sys

from .cli import main

sys.exit(main())
