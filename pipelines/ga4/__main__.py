"""`python -m pipelines.ga4`: the GA4 pipeline alone, the same job as `thoth extract ga4`."""

import argparse
import sys

from pipelines.ga4 import job
from thoth.core.config import warehouse_path
from thoth.core.entry import guarded, printed

parser = argparse.ArgumentParser(prog="python -m pipelines.ga4", description=job.DESCRIPTION)
job.add_arguments(parser)
args = vars(parser.parse_args())


def main() -> int:
    job.run(warehouse_path(), log=printed, **args)
    return 0


sys.exit(guarded(main, program="python -m pipelines.ga4"))
