"""`python -m pipelines.landing [--full-refresh]`: the landing pipeline alone, like
`thoth extract landing`."""

import sys

from thoth.cli import main

sys.exit(main(["extract", "landing", *sys.argv[1:]]))
