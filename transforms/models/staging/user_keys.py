"""Pseudonymous keys for people: an HMAC of the OnTrack user id under a secret key, so a KPI per
student or tutor can be joined across tables and runs without naming anyone."""

from __future__ import annotations

import hashlib
import hmac

import polars as pl

from transforms.project import polars_model


@polars_model(inputs={"ontrack_raw.users": ["id"]}, keyed=True)
def stg_ontrack__user_keys(users: pl.DataFrame, *, pseudonym_key: bytes) -> pl.DataFrame:
    """`pseudonym_key`: the command's TRANSFORMS__PSEUDONYM_KEY, handed down by the build."""
    ids = users.get_column("id")
    keys = [hmac.new(pseudonym_key, str(i).encode(), hashlib.sha256).hexdigest()[:16]
            for i in ids]
    return pl.DataFrame({"user_id": ids, "user_key": pl.Series(keys, dtype=pl.String)})
