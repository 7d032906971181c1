"""`python -m musicrec_tui` = `musicrec`."""

import sys

from .cli import main

sys.exit(main())
