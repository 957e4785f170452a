"""`python -m thoth.reference`: write the docs site's generated references (docs/reference/*.md
and the run chain in docs/operations/run.md) from the code that states each fact. The top of
the layers: it reads the CLI's parser and the run chain; the rendering is
thoth/faces/reference.py."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from thoth.cli import build_parser
from thoth.faces import reference


def chain() -> tuple[Sequence[Any], Sequence[Any]]:
    """The run chain: every step `thoth run` runs, in order, and those `--skip-extract` keeps."""
    from thoth.app.steps import BUILD, CHAIN

    return CHAIN, BUILD


def generated() -> dict[Path, str]:
    """Every generated docs file as it should read now."""
    return reference.pages(build_parser(), *chain())


def main() -> int:
    for path in reference.write(generated()):
        print(f"wrote {path.relative_to(reference.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
