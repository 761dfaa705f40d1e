"""``python -m localcloud up|down|status|reset|serve|env`` (see localcloud/cli.py)."""
import sys

from localcloud.cli import main

sys.exit(main())
