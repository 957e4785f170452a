"""The OnTrack rules the models follow, each cited to upstream's code.

A model's YAML lists, under `upstream_rules`, every OnTrack rule it depends on:

    upstream_rules:
    - rule: on_time
      says: on time iff submitted by 23:59:59 UTC−12 on the deadline day
      file: app/models/task.rb
      method: "Task#submitted_before_due?"
      release: v8.0.0-3          # a release of upstream.yml, which pins its commit
                                 # (or `commit:` 40 hex digits, for code read at a commit)

`upstream.yml` beside this file pins each release (commit, date, how it was read);
docs/upstream.md says how to re-check every citation when upstream moves.
`python -m transforms.upstream` prints the checklist: each file and method to re-read, with the
rules and models resting on it.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from transforms.project import Model, discover

REGISTRY = Path(__file__).with_name("upstream.yml")
FIELDS = ("rule", "says", "file", "method")
COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Citation:
    model: str  # schema.table
    rule: str
    says: str
    file: str
    method: str
    release: str | None
    commit: str | None


def releases(path: Path | None = None) -> dict[str, dict]:
    """The upstream releases checked against, by name (`upstream.yml`)."""
    doc = yaml.safe_load((path or REGISTRY).read_text()) or {}
    return dict(doc.get("releases") or {})


def problems(model: Model, known: dict[str, dict]) -> list[str]:
    """Every way a model's `upstream_rules` falls short of a citation, one line each."""
    entries = model.meta.get("upstream_rules") or []
    where = f"{model.path.parent.name}/{model.name}.yml"
    if not isinstance(entries, list):
        return [f"{where}: upstream_rules must be a list of citations"]
    out = []
    for i, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            out.append(f"{where}: upstream_rules #{i} is not a mapping")
            continue
        missing = [f for f in FIELDS if not str(entry.get(f) or "").strip()]
        if missing:
            out.append(f"{where}: upstream_rules #{i} ({entry.get('rule')}) lacks "
                       f"{', '.join(missing)}")
        release, commit = entry.get("release"), entry.get("commit")
        if not release and not commit:
            out.append(f"{where}: upstream_rules #{i} ({entry.get('rule')}) names neither a "
                       "release nor a commit")
        if release and str(release) not in known:
            out.append(f"{where}: upstream_rules #{i} ({entry.get('rule')}): release {release} "
                       "is not in transforms/upstream.yml")
        if commit and not COMMIT.match(str(commit)):
            out.append(f"{where}: upstream_rules #{i} ({entry.get('rule')}): commit {commit} is "
                       "not 40 hex digits")
    return out


def citations(models: dict[str, Model] | None = None) -> list[Citation]:
    """Every model's citations, in model order."""
    models = discover() if models is None else models
    out = []
    for name, model in models.items():
        for entry in model.meta.get("upstream_rules") or []:
            out.append(Citation(name, str(entry.get("rule")), " ".join(str(entry.get("says") or
                                                                            "").split()),
                                str(entry.get("file")), str(entry.get("method")),
                                entry.get("release") and str(entry["release"]),
                                entry.get("commit") and str(entry["commit"])))
    return out


def models_behind(models: dict[str, Model], name: str) -> set[str]:
    """The model and every model it reads, directly or through others."""
    out = {name}
    for item in models[name].inputs:
        if item in models and item not in out:
            out |= models_behind(models, item)
    return out


def rules_behind(models: dict[str, Model], name: str) -> set[str]:
    """The OnTrack rules a model rests on: its own and those of every model it reads."""
    behind = models_behind(models, name)
    return {c.rule for c in citations(models) if c.model in behind}


def checklist(cites: list[Citation]) -> list[str]:
    """One line per upstream file and method, with the release it was read at and the rules and
    models resting on it: what to re-read when upstream moves."""
    by_place: dict[tuple[str, str, str], set[str]] = {}
    for c in cites:
        key = (c.file, c.method, c.release or c.commit or "")
        by_place.setdefault(key, set()).add(f"{c.rule} ({c.model})")
    return [f"{file} {method} @ {at}: {'; '.join(sorted(used))}"
            for (file, method, at), used in sorted(by_place.items())]


if __name__ == "__main__":
    print("\n".join(checklist(citations())))
    sys.exit(0)
