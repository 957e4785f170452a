"""`thoth erase-user` reaches the data products: every attention file listing a project of the
erased person is rewritten without it, at once (the aggregates follow at the next publish).

An erasure step (erasure.py, `ErasureStep`): it runs inside the erasure's transaction,
after the warehouse's rules have registered the person's projects in `platform.erasures`, finds
them by keyed hash — the ids themselves are never kept — and rewrites each file whole (one
object), then the manifest with the new sha256s. It returns what it rewrote, for the audit row.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import duckdb

from thoth.core.errors import ThothError
from thoth.core.platform.erasures import subject_key
from thoth.core.storage import Target
from warehouse.products import store


class ProductErasure:
    """The products under one target (PRODUCTS__BUCKET_URL) as an erasure step."""

    name = "products"

    def __init__(self, target: Target):
        self.target = target

    def erase(self, con: duckdb.DuckDBPyConnection, secret: str, erasure_id: str,
              log: Callable[[str], None]) -> list[dict]:
        erased = {r[0] for r in con.execute(
            "SELECT subject_key FROM platform.erasures WHERE kind = 'project'").fetchall()}
        manifest = store.read_manifest(self.target)
        rewritten = []
        for path, entry in sorted(manifest["files"].items()):
            if entry.get("classification") != "personal" or not erased:
                continue
            done = self._rewrite(path, entry, secret, erased)
            if done:
                rewritten.append(done)
                log(f"  products {self.target.path(path)}: {done['projects_removed']} projects "
                    "removed; rewritten")
        if rewritten:
            body = dict(manifest)  # its file entries updated in place by _rewrite
            body["erasures"] = [*manifest.get("erasures", []),
                                {"erasure_id": erasure_id, "files": [r["path"] for r in rewritten]}]
            store.write(self.target, store.MANIFEST,
                        (json.dumps(body, indent=2) + "\n").encode(), "internal")
        return rewritten

    def _rewrite(self, path: str, entry: dict, secret: str, erased: set[str]) -> dict | None:
        data = self.target.read(path)
        if data is None:
            return None  # listed but gone: nothing of anyone left there
        try:
            doc = json.loads(data)
            projects = doc["projects"]
        except (ValueError, KeyError, TypeError):
            raise ThothError(f"the product file {self.target.path(path)} is not the attention "
                             "file its manifest lists; nothing was erased") from None
        keep = [p for p in projects
                if subject_key(secret, "project", p["project_id"]) not in erased]
        if len(keep) == len(projects):
            return None
        doc["projects"] = keep
        doc["flagged"] = sum(bool(p["flagged"]) for p in keep)
        store.validate(doc, entry["schema"], path)
        new = store.encode(doc)
        store.write(self.target, path, new, entry["classification"])
        if self.target.read(path) != new:
            raise ThothError(f"the rewritten product file {self.target.path(path)} reads back "
                             "different; nothing was erased")
        entry.update(sha256=store.sha256(new), bytes=len(new))
        return {"path": path, "projects_removed": len(projects) - len(keep),
                "projects_left": len(keep)}
