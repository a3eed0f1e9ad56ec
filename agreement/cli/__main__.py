"""``python -m agreement.cli``: the command line (same as ``python -m agreement``)."""

import sys

from . import main

sys.exit(main())
