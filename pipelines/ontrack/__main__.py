"""`python -m pipelines.ontrack`: the OnTrack pipeline alone, the same job as `thoth extract
ontrack`, with the same governance applied to each table it loads."""

import sys

from pipelines.ontrack import job
from thoth.core.entry import job_main

# An entry point, like `thoth`: it hands the pipeline the governance the app hands it, so an
# erased person or an archived row stays out however the pipeline is run (pyproject.toml lets
# this one import cross the layers).
from warehouse.governance.after_load import apply as governance

sys.exit(job_main(job, "python -m pipelines.ontrack", guard=governance))
