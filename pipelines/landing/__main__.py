"""`python -m pipelines.landing`: the landing pipeline alone, like `thoth extract landing`."""

import sys

from pipelines.landing import job
from thoth.core.entry import job_main

sys.exit(job_main(job, "python -m pipelines.landing"))
