"""Configuration through dlt's config specs: the keys each spec reads, the one-line message for
each kind of mistake, and secrets kept out of reprs, messages and dlt's traces."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dlt.common.configuration.container import Container
from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext
from repo import ROOT

from pipelines.ga4.config import load_config as ga4_config
from pipelines.ontrack.config import OntrackConfig
from thoth.core import config
from thoth.core.errors import ThothError

PASSWORD = "s3cr3t-Pa55word-xyz"


@pytest.fixture
def clean_env(monkeypatch):
    for key in list(os.environ):
        if key.split("__")[0] in {"WAREHOUSE", "PUBLISH", "RETENTION", "RUN", "ALERTS",
                                  "LANDING", "TRANSFORMS", "SOURCES", "ONTRACK", "GA4",
                                  "LAKE", "SPARK"}:
            monkeypatch.delenv(key)
    # dlt reads .dlt/*.toml once per process, from the working directory of the first lookup;
    # another test may have made that a temporary folder: these tests read the committed ones.
    Container()[PluggableRunContext].reload(str(ROOT))
    return monkeypatch


def test_a_bare_or_unrelated_variable_never_stands_in_for_a_key(clean_env):
    """dlt falls back from SECTION__KEY to shorter names; a spec's __section__ stops that at
    the section, so PATH is never the warehouse and LOCK_FILE never the run lock."""
    clean_env.setenv("PATH", os.environ["PATH"])
    clean_env.setenv("LOCK_FILE", "/somewhere/else.lock")
    clean_env.setenv("BUCKET_URL", "/elsewhere")
    clean_env.setenv("CREDENTIALS", "postgresql://intruder@elsewhere/db")
    assert config.warehouse_path() == Path("data/warehouse.duckdb")
    assert config.run_lock_file(Path("/w/x.duckdb")) == Path("/w/x.run.lock")
    # beside the warehouse, as an absolute path
    assert config.resolve(config.PublishConfig()).bucket_url == str(Path.cwd() / "data/publish")
    with pytest.raises(ThothError, match="^SOURCES__ONTRACK__CREDENTIALS is not set: set it"):
        config.resolve(OntrackConfig())


def test_blank_counts_as_not_set_and_text_is_trimmed(clean_env):
    clean_env.setenv("WAREHOUSE__PATH", "  ")
    clean_env.setenv("PUBLISH__BUCKET_URL", " gs://b/kpi ")
    clean_env.setenv("TRANSFORMS__PSEUDONYM_KEY", "")
    assert config.warehouse_path() == Path("data/warehouse.duckdb")
    assert config.resolve(config.PublishConfig()).bucket_url == "gs://b/kpi"
    with pytest.raises(ThothError) as caught:
        config.pseudonym_key()
    assert str(caught.value) == (
        "TRANSFORMS__PSEUDONYM_KEY is not set: set it (or [transforms] pseudonym_key in "
        ".dlt/secrets.toml) to a long random secret, e.g. from `openssl rand -hex 32`, and keep "
        "it: a new key changes every student_key and tutor_key")


def test_values_are_typed_and_checked(clean_env):
    clean_env.setenv("SOURCES__ONTRACK__CREDENTIALS", "postgresql+psycopg://u@h:5432/db")
    clean_env.setenv("SOURCES__ONTRACK__LOOKBACK_MINUTES", "30")
    clean_env.setenv("RETENTION__IN_RUN", "false")
    ontrack = config.resolve(OntrackConfig())
    assert (ontrack.lookback_minutes, ontrack.schema) == (30, "public")  # schema: config.toml
    assert (ontrack.credentials.drivername, ontrack.credentials.database) == (
        "postgresql+psycopg", "db")
    assert config.resolve(config.RetentionConfig()).in_run is False
    clean_env.setenv("SOURCES__ONTRACK__LOOKBACK_MINUTES", "a quarter hour")
    with pytest.raises(ThothError) as caught:
        config.resolve(OntrackConfig())
    assert str(caught.value) == ("SOURCES__ONTRACK__LOOKBACK_MINUTES is 'a quarter hour': "
                                 "expected a whole number")
    clean_env.setenv("SOURCES__GA4__PROPERTY_IDS", "123")
    clean_env.setenv("SOURCES__GA4__RETRY_ATTEMPTS", "0")
    with pytest.raises(ThothError) as caught:
        ga4_config()
    assert str(caught.value) == "SOURCES__GA4__RETRY_ATTEMPTS is 0: expected a number between " \
                                "1 and 50"


def test_the_archive_uses_the_publish_target_s_endpoint_and_key_unless_its_own(clean_env):
    clean_env.setenv("PUBLISH__ENDPOINT_URL", "http://127.0.0.1:9023")
    clean_env.setenv("PUBLISH__CREDENTIALS", "/etc/thoth/publisher.json")
    archive = config.resolve(config.RetentionConfig())
    assert (archive.archive_url, archive.endpoint_url, archive.credentials) == (
        str(Path.cwd() / "data/archive"), "http://127.0.0.1:9023", "/etc/thoth/publisher.json")
    clean_env.setenv("RETENTION__CREDENTIALS", "/etc/thoth/archiver.json")
    clean_env.setenv("RETENTION__POLICIES_FILE", "/etc/thoth/retention.yml")
    archive = config.resolve(config.RetentionConfig())
    assert archive.credentials == "/etc/thoth/archiver.json"
    assert archive.policies_path == Path("/etc/thoth/retention.yml")


def test_a_secret_is_in_no_repr_and_no_message(clean_env):
    url = f"postgresql+psycopg://reader:{PASSWORD}@db.example:5432/doubtfire"
    clean_env.setenv("SOURCES__ONTRACK__CREDENTIALS", url)
    clean_env.setenv("TRANSFORMS__PSEUDONYM_KEY", PASSWORD)
    clean_env.setenv("ALERTS__WEBHOOK_URL", f"https://hooks.example/{PASSWORD}")
    shown = []
    for spec in (config.resolve(OntrackConfig()), config.resolve(config.TransformsConfig()),
                 config.resolve(config.AlertsConfig())):
        shown += [repr(spec), str(spec)]
    ontrack = config.resolve(OntrackConfig())
    shown += [repr(ontrack.credentials), str(ontrack.credentials)]
    assert str(ontrack.credentials) == "postgresql+psycopg://reader:***@db.example:5432/doubtfire"
    assert not [text for text in shown if PASSWORD in text]
    # A value that does not parse is not echoed either: it may hold the password.
    clean_env.setenv("SOURCES__ONTRACK__CREDENTIALS", f"reader:{PASSWORD}@db.example")
    with pytest.raises(ThothError) as caught:
        config.resolve(OntrackConfig())
    assert str(caught.value) == ("SOURCES__ONTRACK__CREDENTIALS is not a database URL: expected "
                                 "driver://user:password@host:port/database")


def test_secret_fields_are_typed_secret_so_dlt_traces_skip_them():
    """dlt keeps resolved values in a trace that a pipeline stores, minus secret-typed ones."""
    from dlt.common.configuration.specs.base_configuration import is_secret_hint

    secret = {(type(spec).__name__, name)
              for spec in (config.PublishConfig(), config.LandingConfig(),
                           config.RetentionConfig(), config.AlertsConfig(),
                           config.TransformsConfig(), OntrackConfig())
              for name, hint in spec.get_resolvable_fields().items() if is_secret_hint(hint)}
    assert secret == {("PublishConfig", "credentials"), ("LandingConfig", "credentials"),
                      ("RetentionConfig", "credentials"), ("AlertsConfig", "webhook_url"),
                      ("TransformsConfig", "pseudonym_key"), ("OntrackConfig", "credentials")}


def test_a_secret_in_config_toml_is_refused_in_one_line(tmp_path):
    """config.toml is committed: a secret found there stops the command, named, not echoed."""
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text(
        f'[publish]\nbucket_url = "out"\ncredentials = "{PASSWORD}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUBLISH__", "WAREHOUSE__"))}
    done = subprocess.run([sys.executable, "-m", "thoth.cli", "publish"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr == ("thoth: error: [publish] credentials is a secret: move it from "
                           ".dlt/config.toml to .dlt/secrets.toml (or its environment "
                           "variable)\n")
    assert PASSWORD not in done.stdout + done.stderr
    assert not (tmp_path / "data").exists()  # nothing opened, nothing written


def test_engine_lake_and_spark_settings(clean_env):
    warehouse = config.resolve(config.WarehouseConfig())
    assert warehouse.engine == "duckdb"
    clean_env.setenv("WAREHOUSE__ENGINE", " Spark ")
    assert config.resolve(config.WarehouseConfig()).engine == "spark"
    clean_env.setenv("WAREHOUSE__ENGINE", "bigquery")
    with pytest.raises(ThothError, match="^WAREHOUSE__ENGINE is 'bigquery': expected one of "
                                         "duckdb, spark$"):
        config.resolve(config.WarehouseConfig())
    clean_env.delenv("WAREHOUSE__ENGINE")

    clean_env.setenv("PUBLISH__ENDPOINT_URL", "http://127.0.0.1:9")
    lake = config.resolve(config.LakeConfig())
    assert (lake.bucket_url, lake.endpoint_url) == (str(Path.cwd() / "data/lake"),
                                                    "http://127.0.0.1:9")

    spark = config.resolve(config.SparkConfig())
    assert (spark.master, spark.conf) == ("local[2]", {})
    clean_env.setenv("SPARK__CONF", "spark.sql.shuffle.partitions=4, spark.ui.enabled=false")
    assert config.resolve(config.SparkConfig()).conf == {"spark.sql.shuffle.partitions": "4",
                                                         "spark.ui.enabled": "false"}
    clean_env.setenv("SPARK__CONF", "spark.sql.shuffle.partitions")
    with pytest.raises(ThothError, match="^SPARK__CONF is 'spark.sql.shuffle.partitions': "
                                         "expected key=value,key=value$"):
        config.resolve(config.SparkConfig())
