"""Writing the products to their target: JSON objects named by their meaning (OnTrack reads
`units/<unit_id>.json` by id), each uploaded only when its bytes changed, as `application/json`
with a short cache lifetime; `_control/manifest.json` last; then what it no longer lists goes.

Each object write is atomic (one GCS object; a rename in a directory), so a reader sees a whole
file, old or new. A publish that fails before the manifest leaves the previous manifest; files
already rewritten are whole, and the next publish lists them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jsonschema

from thoth.core.errors import ThothError
from thoth.core.storage import Target

MANIFEST = "_control/manifest.json"
MANIFEST_VERSION = 1
SCHEMAS = Path(__file__).with_name("schemas")
MANAGED = ("ontrack", "splashkit", "schemas")  # everything under these is the products' own
CONTENT_TYPE = "application/json"
# Short, so a new publish shows within minutes; `private` keeps shared caches (a CDN, a proxy)
# from holding files only OnTrack's server or the unit's staff should read.
CACHE_CONTROL = {"personal": "private, max-age=300", "internal": "private, max-age=300",
                 "public": "public, max-age=300"}


@dataclass(frozen=True)
class ProductFile:
    path: str  # under the target
    data: bytes
    product: str
    classification: str  # public | internal | personal
    schema: str  # the schema's path under the target

    @property
    def sha256(self) -> str:
        return sha256(self.data)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def encode(doc: dict) -> bytes:
    """Stable bytes for the same content: keys in the order built, no NaN (JSON has none)."""
    return (json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n").encode()


def schema_text(schema: str) -> bytes:
    return (SCHEMAS / schema.removeprefix("schemas/")).read_bytes()


def validate(doc: dict, schema: str, where: str) -> None:
    """Refuse a document its own schema rejects: a bug, never published."""
    validator = jsonschema.Draft202012Validator(
        json.loads(schema_text(schema)), format_checker=jsonschema.FormatChecker())
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is not None:
        at = "/".join(str(p) for p in error.absolute_path) or "(top)"
        raise ThothError(f"products: {where} does not match {schema} at {at}: {error.message}; "
                         "nothing was published")


def write(target: Target, relative: str, data: bytes, classification: str) -> None:
    if target.is_local:
        target.write_atomic(relative, data)
    else:
        target.fs.pipe_file(target.path(relative), data, content_type=CONTENT_TYPE,
                            fixed_key_metadata={"cache_control": CACHE_CONTROL[classification]})


def read_manifest(target: Target) -> dict:
    data = target.read(MANIFEST)
    try:
        doc = json.loads(data) if data else {}
    except ValueError:
        doc = {}
    return doc if isinstance(doc.get("files"), dict) else {"files": {}}


def manifest(*, run_id: str, published_at: datetime, target: str, as_of: datetime,
             data_tests: dict, files: dict[str, dict], products: dict[str, dict]) -> bytes:
    doc = {
        "manifest_version": MANIFEST_VERSION,
        "run_id": run_id,
        "published_at": published_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "as_of": as_of.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "target": target,
        "data_tests": data_tests,
        "products": products,
        "files": files,
    }
    return (json.dumps(doc, indent=2) + "\n").encode()


def file_entry(f: ProductFile) -> dict:
    return {"product": f.product, "classification": f.classification, "schema": f.schema,
            "sha256": f.sha256, "bytes": len(f.data), "content_type": CONTENT_TYPE,
            "cache_control": CACHE_CONTROL[f.classification]}


def stale(target: Target, keep: set[str]) -> list[str]:
    return sorted(p for p in target.listing() if p not in keep and (
        p.split("/", 1)[0] in MANAGED or (p.startswith("_control/") and ".tmp-" in p)))


def overlaps(a: Target, b: Target) -> bool:
    """Whether two targets are one place or one holds the other (same kind of storage)."""
    if a.is_local != b.is_local:
        return False
    x, y = a.root.rstrip("/"), b.root.rstrip("/")
    return x == y or x.startswith(y + "/") or y.startswith(x + "/")
