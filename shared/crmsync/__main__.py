"""``python -m crmsync``."""

import sys

from .cli import main

sys.exit(main())
