"""Which pseudonym key built a warehouse's pseudonyms (`platform.pseudonym_key`): a fingerprint,
an HMAC of a constant under the key — never the key, and nothing a published key matches. A
build or an erasure under another key is refused: a new key would silently change every
student_key and tutor_key, and erased people's ledger hashes would match nobody."""

from __future__ import annotations

import hashlib
import hmac

import duckdb

from thoth.core import platform
from thoth.core.duck import utc_now
from thoth.core.errors import ThothError


def fingerprint(key: bytes) -> str:
    return hmac.new(key, b"thoth pseudonym key fingerprint", hashlib.sha256).hexdigest()[:16]


def recorded(con: duckdb.DuckDBPyConnection) -> str | None:
    if not platform.has_table(con, "pseudonym_key"):
        return None
    row = con.execute("SELECT fingerprint FROM platform.pseudonym_key").fetchone()
    return row[0] if row else None


def check(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """Refuse `key` unless it is the one that built this warehouse; the first time, record it."""
    have, given = recorded(con), fingerprint(key)
    if have is None:
        platform.ensure(con, "pseudonym_key")
        con.execute("INSERT INTO platform.pseudonym_key VALUES (?, ?)", [given, utc_now()])
    elif have != given:
        raise ThothError(
            f"TRANSFORMS__PSEUDONYM_KEY is not the key this warehouse's pseudonyms were built with "
            f"(its fingerprint is {given}, the warehouse's {have}): set the key it was built with "
            "(`make demo`'s is printed at its end); to re-key on purpose, DELETE FROM "
            "platform.pseudonym_key, then `thoth transform` and `thoth publish` (every "
            "student_key and tutor_key changes); nothing was changed")
