"""Secrets stay secret under failure: real `thoth` commands run through the cron wrapper fail
with marker secrets configured — an OnTrack URL whose password is a marker (the server refuses
it, the database does not exist, the host is unreachable or unknown, a later step fails), a GA4
service-account key with a marker private key and a failing endpoint, an alert webhook whose
URL holds a marker token and refuses connections — and the markers must appear nowhere: not in
stdout, stderr, the cron log, what the alert command received, any warehouse table (the
platform.* audit tables included), any file the run left, nor the `thoth docs` site."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import duckdb
import pymysql
import pytest
from repo import ROOT
from servers import MYSQL_HOST, MYSQL_PORT, mysql_admin

WRAPPER = ROOT / "cron" / "thoth-cron"
THOTH = Path(sys.executable).parent / "thoth"


def _marker(kind: str) -> str:
    return f"{kind}Marker{uuid.uuid4().hex[:16]}"


def _closed_port() -> int:
    """A 127.0.0.1 port nothing listens on: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _configured_env(tmp_path: Path, extra: dict[str, str]) -> tuple[dict[str, str], str]:
    """A hermetic environment: the warehouse and logs under tmp_path, an alert command that
    records what it is given, a webhook with a marker token that refuses connections."""
    token = _marker("Webhook")
    recorder = tmp_path / "alert.py"
    recorder.write_text("import json, os, sys\n"
                        f"with open({str(tmp_path / 'alert.jsonl')!r}, 'a') as f:\n"
                        "    f.write(json.dumps({'argv': sys.argv[1:], 'env': {k: v for k, v in "
                        "os.environ.items() if k.startswith('THOTH_')}}) + '\\n')\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOURCES__", "ALERTS__", "WAREHOUSE__", "PUBLISH__", "LANDING__",
                                "RETENTION__", "RUN__", "TRANSFORMS__"))}
    env |= {
        "WAREHOUSE__PATH": str(tmp_path / "data" / "warehouse.duckdb"),
        "PUBLISH__BUCKET_URL": str(tmp_path / "data" / "publish"),
        "RETENTION__ARCHIVE_URL": str(tmp_path / "data" / "archive"),
        "TRANSFORMS__PSEUDONYM_KEY": "test-pseudonym-key-for-the-secrets-test",
        "THOTH_LOG_DIR": str(tmp_path / "logs"),
        "THOTH_LOCK_FILE": str(tmp_path / "thoth.lock"),
        "ALERTS__COMMAND": f"{sys.executable} {recorder}",
        "ALERTS__WEBHOOK_URL": f"http://127.0.0.1:{_closed_port()}/hooks/T0/B1/{token}",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        **extra,
    }
    return env, token


def _everything_written(tmp_path: Path, env: dict[str, str], done) -> str:
    """All the text a failing run left: its output, the cron log, the alerts, every value of
    every warehouse table, every file under tmp_path (dlt's working folder too) and the docs."""
    docs = subprocess.run([THOTH, "docs", "--out", str(tmp_path / "docs")], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    parts = [done.stdout, done.stderr, docs.stdout, docs.stderr]
    warehouse = Path(env["WAREHOUSE__PATH"])
    if warehouse.exists():
        with duckdb.connect(str(warehouse), read_only=True) as con:
            for schema, table in con.execute("SELECT schema_name, table_name FROM "
                                             "duckdb_tables()").fetchall():
                rows = con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
                parts.append(f"{schema}.{table}: {rows!r}")
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name != "alert.py":
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def _failing(tmp_path: Path, extra: dict[str, str], *args: str) -> tuple[str, str, dict]:
    """Run `thoth <args>` through the cron wrapper; it must fail. Returns (everything written,
    the webhook's token, the run's text: log and alerts) for the caller's own checks."""
    env, token = _configured_env(tmp_path, extra)
    done = subprocess.run([WRAPPER, *(args or ("run",))], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    (log,) = (tmp_path / "logs").iterdir()
    alerts = tmp_path / "alert.jsonl"
    run = {"log": log.read_text(),
           "alerts": [json.loads(x) for x in alerts.read_text().splitlines()]
           if alerts.exists() else []}
    return _everything_written(tmp_path, env, done), token, run


def _assert_secret(text: str, *markers: str) -> None:
    leaks = [m for m in markers if m in text]
    where = [text[max(0, text.index(m) - 200):text.index(m) + 50] for m in leaks]
    assert not leaks, f"secrets leaked: {where}"


def _assert_alerted(run: dict, step: str, reason: str) -> None:
    """The run failed where expected, said why in one line, and tried both alert hooks."""
    (alert,) = run["alerts"]
    assert alert["env"]["THOTH_FAILED_STEP"] == step
    assert reason in alert["env"]["THOTH_ERROR"], alert["env"]["THOTH_ERROR"]
    assert "alert: command called" in run["log"]
    assert "alert: posting to 127.0.0.1:" in run["log"] and "connection refused" in \
        run["log"].lower()


# --- OnTrack URLs with a password -------------------------------------------------------------

@pytest.fixture
def mysql_user(mysql_server) -> tuple[str, str]:
    """A MariaDB user with a real password (root has none): a wrong one is really refused."""
    user, password = f"thoth_s_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    admin = mysql_admin()
    for host in ("localhost", "127.0.0.1", "%"):
        admin.cursor().execute(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{password}'")
    try:
        yield user, password
    finally:
        for host in ("localhost", "127.0.0.1", "%"):
            admin.cursor().execute(f"DROP USER IF EXISTS '{user}'@'{host}'")
        admin.close()


def test_a_refused_password_is_never_written(mysql_user, tmp_path):
    user, real = mysql_user
    with pytest.raises(pymysql.err.OperationalError):  # the server really checks it
        pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user=user, password="wrong").close()
    password = _marker("Password")
    url = f"mysql+pymysql://{user}:{password}@{MYSQL_HOST}:{MYSQL_PORT}/test"
    text, token, run = _failing(tmp_path, {"SOURCES__ONTRACK__CREDENTIALS": url})
    _assert_alerted(run, "extract ontrack", "Access denied")
    _assert_secret(text, password, token)


@pytest.mark.parametrize("case", ["no database", "refused", "unknown host", "mariadb refused"])
def test_an_unreachable_source_never_writes_its_password(case, pg_admin_url, tmp_path):
    password = _marker("Password")
    url, reason = {
        "no database": (f"postgresql+psycopg://postgres:{password}@127.0.0.1:5432/"
                        f"thoth_nope_{uuid.uuid4().hex[:8]}", "does not exist"),
        "refused": (f"postgresql+psycopg://postgres:{password}@127.0.0.1:{_closed_port()}/x",
                    "refused"),
        "unknown host": (f"postgresql+psycopg://postgres:{password}@thoth-nohost.invalid/x",
                         "thoth-nohost.invalid"),
        "mariadb refused": (f"mysql+pymysql://root:{password}@127.0.0.1:{_closed_port()}/x",
                            "MariaDB"),
    }[case]
    text, token, run = _failing(tmp_path, {"SOURCES__ONTRACK__CREDENTIALS": url})
    _assert_alerted(run, "extract ontrack", reason)
    _assert_secret(text, password, token)


# --- GA4 service-account keys -----------------------------------------------------------------

def _service_account_key(private_key: str, token_uri: str) -> dict[str, str]:
    return {"type": "service_account", "project_id": "thoth-test",
            "private_key_id": _marker("KeyId"), "private_key": private_key,
            "client_email": "thoth@thoth-test.iam.gserviceaccount.com",
            "client_id": "1234567890", "token_uri": token_uri}


def _rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _ga4(key: dict) -> dict[str, str]:
    return {"SOURCES__GA4__PROPERTY_IDS": "123456789",
            "SOURCES__GA4__API_ENDPOINT": f"127.0.0.1:{_closed_port()}",
            "SOURCES__GA4__RETRY_INITIAL_SECONDS": "0.01",
            "SOURCES__GA4__RETRY_ATTEMPTS": "2", "SOURCES__GA4__RETRY_TIMEOUT_SECONDS": "5",
            "SOURCES__GA4__CREDENTIALS": json.dumps(key)}


@pytest.mark.parametrize("case", ["key refused by the token endpoint", "key not a key"])
def test_a_ga4_key_is_never_written(case, tmp_path):
    pem = _rsa_pem()
    if case == "key not a key":  # a pasted key that is not one: the whole value is the marker
        pem = f"-----BEGIN PRIVATE KEY-----\n{_marker('PrivateKey')}\n-----END PRIVATE KEY-----\n"
    body = "".join(pem.splitlines()[1:-1])
    markers = [body[i:i + 32] for i in range(0, len(body), 200)]  # pieces of the key
    key = _service_account_key(pem, f"http://127.0.0.1:{_closed_port()}/token")
    text, token, run = _failing(tmp_path, _ga4(key), "extract", "ga4")
    assert ("is not a usable service-account key" if case == "key not a key" else
            "cannot reach the GA4 Data API at 127.0.0.1:") in run["log"]
    _assert_secret(text, *markers, key["private_key_id"], token)


def test_a_broken_archive_key_is_one_line_without_the_key(tmp_path):
    pem = f"-----BEGIN PRIVATE KEY-----\n{_marker('PrivateKey')}\n-----END PRIVATE KEY-----\n"
    key = _service_account_key(pem, f"http://127.0.0.1:{_closed_port()}/token")
    text, token, run = _failing(tmp_path, {"RETENTION__ARCHIVE_URL": "gs://thoth-archive/x",
                                           "RETENTION__CREDENTIALS": json.dumps(key)},
                                "retention", "--apply")
    assert ("thoth: error: the GCS credentials are not a usable service-account key (KeyError)"
            in run["log"]) and "Traceback" not in run["log"]
    _assert_secret(text, pem.splitlines()[1], key["private_key_id"], token)


def test_a_run_failing_in_a_later_step_writes_no_secret(pg_url, tmp_path):
    """OnTrack loads (PostgreSQL here trusts 127.0.0.1, so the marker password is accepted and
    goes through every loader path), then GA4 fails with a marker key."""
    from thoth.demo.ontrack import generate

    generate(pg_url, scale=0.001, seed=7)
    password = _marker("Password")
    url = pg_url.replace("://postgres@", f"://postgres:{password}@")
    assert password in url
    pem = _rsa_pem()
    key = _service_account_key(pem, f"http://127.0.0.1:{_closed_port()}/token")
    text, token, run = _failing(tmp_path, {"SOURCES__ONTRACK__CREDENTIALS": url, **_ga4(key)})
    assert "extract ontrack: ok" in run["log"]
    _assert_alerted(run, "extract ga4", "GA4")
    body = "".join(pem.splitlines()[1:-1])
    _assert_secret(text, password, token, body[100:140], key["private_key_id"])


# --- the alert webhook ------------------------------------------------------------------------

@pytest.mark.parametrize("shape", ["refused", "port not a number", "unknown host", "user:token@"])
def test_a_failing_webhook_is_named_by_its_host_only(shape, tmp_path):
    """The run fails at once (no OnTrack URL); posting its alert fails in four ways."""
    token = _marker("Webhook")
    port = _closed_port()
    url = {"refused": f"http://127.0.0.1:{port}/services/T0/B1/{token}?key={token}x",
           "port not a number": f"http://127.0.0.1:{token}/services/T0",
           "unknown host": f"https://thoth-nohost.invalid/services/{token}",
           "user:token@": f"http://hook:{token}@127.0.0.1:{port}/services/T0"}[shape]
    text, _, run = _failing(tmp_path, {"ALERTS__WEBHOOK_URL": url})
    (failed,) = [x for x in run["log"].splitlines() if x.startswith("alert: posting to ")]
    assert failed.split(" failed: ")[0] == "alert: posting to " + {
        "refused": f"127.0.0.1:{port}",
        "port not a number": "the configured webhook (ALERTS__WEBHOOK_URL does not parse as a "
                             "URL)",
        "unknown host": "thoth-nohost.invalid", "user:token@": f"127.0.0.1:{port}"}[shape]
    assert "alert: command called" in run["log"]  # the other hook still went
    assert run["alerts"][0]["env"]["THOTH_FAILED_STEP"] == "extract ontrack"
    _assert_secret(text, token)


def test_the_redaction_net_masks_every_configured_secret(monkeypatch):
    """Under the messages that name no secret: whatever a library embeds is masked too."""
    from thoth.core.redaction import MASK, redactor

    pem = _rsa_pem()
    password, token = "p@ss/w0rd:" + _marker("Password"), _marker("Webhook")
    monkeypatch.setenv("SOURCES__ONTRACK__CREDENTIALS",
                       f"mysql+pymysql://ontrack:{quote(password, safe='')}@db.example:3306/"
                       "doubtfire")
    monkeypatch.setenv("ALERTS__WEBHOOK_URL", f"https://chat.example/v1/spaces/AA/{token}")
    monkeypatch.setenv("SOURCES__GA4__CREDENTIALS",
                       json.dumps(_service_account_key(pem, "https://oauth2.example/token")))
    monkeypatch.setenv("TRANSFORMS__PSEUDONYM_KEY", "k" * 40)
    redact = redactor()
    line = pem.splitlines()[3]
    text = (f"connectorx: mysql://ontrack:{quote(password, safe='')}@db.example:3306/doubtfire "
            f"refused ({password}); POST https://chat.example/v1/spaces/AA/{token} failed; key "
            f"{line} rejected; {'k' * 40}")
    masked = redact(text)
    for secret in (password, quote(password, safe=""), token, line, "k" * 40):
        assert secret not in masked
    assert masked.count(MASK) == 5
    assert "db.example" in redact('cannot connect to MariaDB database "doubtfire" at '
                                  "db.example:3306")  # host and database stay: they help
    assert "doubtfire" in redact('MariaDB database "doubtfire"')
