"""`python -m pipelines.ga4`: the GA4 pipeline alone, the same job as `thoth extract ga4`."""

import sys

from pipelines.ga4 import job
from thoth.core.entry import job_main

sys.exit(job_main(job, "python -m pipelines.ga4"))
