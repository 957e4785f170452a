"""`python -m pipelines.ontrack`: the OnTrack pipeline alone, the same job as `thoth extract
ontrack`, with the same governance applied to each table it loads."""

import sys
from functools import cache

from pipelines.ontrack import job
from thoth.core import config, load_guard
from thoth.core.entry import job_main

# An entry point, like `thoth`: it hands the pipeline the guard the app hands it, so an erased
# person or an archived row stays out however the pipeline is run. No command context here:
# the key is resolved once, when the guard first needs it (someone is erased).
guard = load_guard.guard(cache(config.pseudonym_key))
sys.exit(job_main(job, "python -m pipelines.ontrack", guard=guard))
