"""Secrets never leave in a message: the configured secret values, found once, replaced by `***`
in every error line, log line of `thoth run`, alert and audit text.

Each message is written not to need it (errors name a host and database, a webhook its host);
this is the net under them, for the library errors that embed a URL or a key (connectorx,
urllib, google-auth) on paths no test has reached yet.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

import dlt

MASK = "***"
SHORTEST = 4  # shorter values would mangle ordinary words; a secret that short is no secret
TOKEN = 12  # a webhook path's piece this long is a token (`/services/T…/B…/<token>`), not a word

# Keys whose values are secrets, as dlt resolves them (environment, secrets.toml, config.toml).
KEY_KEYS = ("sources.ga4.credentials", "publish.credentials", "landing.credentials",
            "retention.credentials")


def url_secrets(url: str, path_is_secret: bool = False) -> set[str]:
    """The parts of a URL that are secret: the URL itself, the password (plain and
    %-encoded) and the user:password pair; with `path_is_secret` (a webhook, whose path or query
    is its token) the path and query too — a database URL's path is only the database's name."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return {url}
    found = {url}
    if parts.password:
        found |= {parts.password, unquote(parts.password)}
    # The user:password pair; a user alone only where it may be a token (a webhook's): a
    # database user is no secret, and masking `postgres` mangled every word holding it.
    if "@" in parts.netloc and (parts.password or path_is_secret):
        found.add(parts.netloc.rsplit("@", 1)[0])
    if path_is_secret:  # the whole path and query, and each token-like piece of them
        found |= {parts.path.strip("/"), parts.query}
        found |= {piece for piece in re.split(r"[/&=]", f"{parts.path}&{parts.query}")
                  if len(piece) >= TOKEN}
    return found


def _database_secrets(value: object) -> set[str]:
    if isinstance(value, dict):  # a TOML table of fields
        return {str(value["password"])} if value.get("password") else set()
    return url_secrets(str(value))


def key_secrets(value: object) -> set[str]:
    """A service-account key (its JSON, its fields, or a file's path): the private key whole
    and line by line, and its id."""
    if isinstance(value, str):
        if not value.lstrip().startswith("{"):
            return set()  # a key file's path: the file holds the secret, not the text
        try:
            value = json.loads(value)
        except ValueError:
            return {value}
    if not isinstance(value, dict):
        return set()
    found = set()
    for field in ("private_key", "private_key_id", "client_secret", "refresh_token"):
        text = str(value.get(field) or "")
        if text:
            found.add(text)
            found |= {line.strip() for line in text.replace("\\n", "\n").splitlines()
                      if "PRIVATE KEY" not in line}
    return found


def configured_secrets() -> set[str]:
    """Every secret value configured here; never raises (a broken config file is reported by
    whatever reads it for real)."""
    parsers = {"sources.ontrack.credentials": _database_secrets,
               "alerts.webhook_url": lambda v: url_secrets(str(v), path_is_secret=True),
               "transforms.pseudonym_key": lambda v: {str(v)},
               "sources.ontrack_metrics.bearer_token": lambda v: {str(v)},
               **dict.fromkeys(KEY_KEYS, key_secrets)}
    found: set[str] = set()
    for key, parse in parsers.items():
        try:  # a secret misplaced in config.toml is still a secret
            value = dlt.secrets.get(key) or dlt.config.get(key)
        except Exception:  # noqa: BLE001 - any provider error: nothing to redact from it
            continue
        if value:
            found |= parse(value)
    return {s for s in found if len(s.strip()) >= SHORTEST}


class Redactor:
    """Replaces the given secrets, longest first (a URL before the password inside it)."""

    def __init__(self, secrets: Iterable[str]):
        ordered = sorted(set(secrets), key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        return self._pattern.sub(MASK, text) if self._pattern and text else text


def redactor() -> Redactor:
    """A redactor for what is configured now."""
    return Redactor(configured_secrets())
