"""The docs' generated references equal what the code states now: the configuration keys (the
dlt config specs), the CLI (its parser), the KPIs (the models' YAML) and the run chain (the step
list). A failure names the file and the command that writes it again."""

from __future__ import annotations

import pytest

from thoth import reference
from thoth.cli import main
from thoth.faces.reference import COMMAND, ROOT, config_keys


@pytest.fixture(scope="module")
def generated():
    return reference.generated()


def _differs(name: str) -> str:
    return (f"{name} differs from the code it is generated from: run `{COMMAND}` "
            "(or `make docs`) and commit the result")


@pytest.mark.parametrize("page", ["configuration", "cli", "kpis"])
def test_reference_page_is_what_the_code_generates(page, generated):
    path = ROOT / "docs" / "reference" / f"{page}.md"
    assert path.read_text() == generated[path], _differs(str(path.relative_to(ROOT)))


def test_run_chain_in_the_docs_is_the_step_list(generated):
    path = ROOT / "docs" / "operations" / "run.md"
    assert path.read_text() == generated[path], _differs(f"the run chain in {path.name}")
    steps, skip_extract = reference.chain()
    text = path.read_text()
    assert " → ".join(f"`{s.name}`" for s in steps) in text
    assert "`lake`" in text and "`retention`" in text  # the steps the old README left out
    assert {s.name for s in skip_extract} < {s.name for s in steps}


def test_configuration_reference_names_every_key_with_its_default():
    text = (ROOT / "docs" / "reference" / "configuration.md").read_text()
    keys = config_keys()
    assert len(keys) >= 50
    for key in keys:
        assert f"`{key.env}`" in text, key.env
    required = {k.env for k in keys if k.required}
    assert required == {"SOURCES__ONTRACK__CREDENTIALS", "TRANSFORMS__PSEUDONYM_KEY"}
    assert ("| `page_size` | `SOURCES__GA4__PAGE_SIZE` | `100000` | 1 to 250000 |" in text)
    assert "| `pseudonym_key` | `TRANSFORMS__PSEUDONYM_KEY` | — | required, secret |" in text


def test_help_epilog_lists_every_key_the_specs_hold(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for key in config_keys():
        assert key.env in out, key.env
    assert "TRANSFORMS__PSEUDONYM_KEY (secret):" in out.split("optional (default):")[0]
    assert "WAREHOUSE__PATH=data/warehouse.duckdb" in out
