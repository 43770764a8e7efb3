"""`python -m bot` does what the `sitrep` command does."""

import sys

from bot.cli import main

sys.exit(main())
