"""`python -m pipelines.ga4 [--full-refresh] [--start-date YYYY-MM-DD]`: the GA4 pipeline on its
own, the same as `thoth extract ga4`."""

import sys

from thoth.cli import main

sys.exit(main(["extract", "ga4", *sys.argv[1:]]))
