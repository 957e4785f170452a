"""`python -m pipelines.landing`: the landing pipeline alone, like `thoth extract landing`."""

import argparse
import sys

from pipelines.landing import job
from thoth.core.config import warehouse_path
from thoth.core.entry import guarded, printed

parser = argparse.ArgumentParser(prog="python -m pipelines.landing", description=job.DESCRIPTION)
job.add_arguments(parser)
args = vars(parser.parse_args())


def main() -> int:
    job.run(warehouse_path(), log=printed, **args)
    return 0


sys.exit(guarded(main, program="python -m pipelines.landing"))
