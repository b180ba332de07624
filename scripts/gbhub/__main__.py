"""`python -m gbhub`: the console script."""

import sys

from gbhub.cli import main

sys.exit(main())
