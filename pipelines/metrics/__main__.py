"""`python -m pipelines.metrics`: the scrape alone, like `thoth extract metrics`."""

import sys

from pipelines.metrics import job
from thoth.core.entry import job_main

sys.exit(job_main(job, "python -m pipelines.metrics"))
