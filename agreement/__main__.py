"""``python -m agreement``: the command line (same as the ``agreement`` script)."""

import sys

from .cli import main

sys.exit(main())
