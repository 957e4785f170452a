"""`python -m pipelines.ontrack`: the OnTrack pipeline alone, the same job as `thoth extract
ontrack`, with the same governance applied to each table it loads."""

import sys

from pipelines.ontrack import job

# An entry point, like `thoth`: it hands the pipeline the guard the app hands it, so an erased
# person or an archived row stays out however the pipeline is run.
from thoth.core import load_guard
from thoth.core.entry import job_main

sys.exit(job_main(job, "python -m pipelines.ontrack", guard=load_guard.apply))
