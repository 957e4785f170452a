"""The operations runbook (docs/operations/runbook.md) has an entry for every one-line error the
platform prints: each place the code makes a ThothError (or a subclass) with a message of its
own, found in the source, must be quoted by the runbook. A failure names the missing messages.

How a message is matched: its fixed leading words. The message as written in the code, each
f-string placeholder standing for "anything", is cut after its first five fixed words; a code
span of the runbook must begin with it, a placeholder matching `…` or an example value. So the
runbook quotes the start of a line (`no archive … under …`), and rewording a message, or adding
one, fails here until the runbook follows. A message with no fixed words of its own (`str(exc)`,
`f"{where}: {why}"`) only passes on a line made elsewhere, and is not listed."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from repo import ROOT

RUNBOOK = ROOT / "docs" / "operations" / "runbook.md"
PACKAGES = ("pipelines", "transforms", "warehouse", "thoth")
LEADING_WORDS = 5
ANY = None  # a placeholder in a message's template


@dataclass(frozen=True)
class Site:
    where: str  # path:line
    template: tuple[str | None, ...]  # literal text, ANY for each placeholder

    @property
    def shown(self) -> str:
        return "".join("…" if part is ANY else part for part in self.template)


def _sources() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(), str(path)))
            for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))]


def _error_classes(trees: list[tuple[Path, ast.Module]]) -> set[str]:
    """ThothError and every class derived from it, however deep."""
    found, grew = {"ThothError"}, True
    while grew:
        grew = False
        for _, tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in found and any(
                        _name(base) in found for base in node.bases):
                    found.add(node.name)
                    grew = True
    return found


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def _template(node: ast.expr) -> list[str | None]:
    """A message's text: string literals kept, anything computed a placeholder."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [v.value if isinstance(v, ast.Constant) else ANY for v in node.values]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _template(node.left) + _template(node.right)
    return [ANY]


def _words(text: str) -> list[str]:
    return [w for w in text.split() if re.search(r"[A-Za-z]", w)]


def error_sites() -> list[Site]:
    """Every call making a platform error with a message that has fixed words of its own."""
    trees = _sources()
    classes = _error_classes(trees)
    sites = []
    for path, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) in classes and node.args:
                template = tuple(_template(node.args[0]))
                if _words(" ".join(p for p in template if p is not ANY)):
                    sites.append(Site(f"{path.relative_to(ROOT)}:{node.lineno}", template))
    return sites


def leading(site: Site) -> re.Pattern:
    """A pattern for the message's start: up to its LEADING_WORDS-th fixed word."""
    pattern, words = "", 0
    for part in site.template:
        if part is ANY:
            pattern += ".+?"
            continue
        for token in re.split(r"(\s+)", part):
            if token.isspace():
                pattern += r"\s+"
            elif token:
                pattern += re.escape(token)
                words += bool(re.search(r"[A-Za-z]", token))
                if words >= LEADING_WORDS:
                    return re.compile(pattern)
    return re.compile(pattern.removesuffix(".+?"))


def quoted(text: str) -> list[str]:
    """The runbook's code spans (`…` or ``…``), each a line or a line's start."""
    return [span.strip() for _, span in re.findall(r"(`+)(.+?)\1", text)]


def test_the_scan_finds_the_errors_it_should():
    """The scan itself: subclasses, f-strings and concatenations are read."""
    sites = {site.where.split(":")[0] for site in error_sites()}
    assert {"thoth/app/lock.py", "warehouse/publish/__init__.py", "thoth/core/storage.py",
            "pipelines/ontrack/source_db.py"} <= sites  # RunLocked, PublishFailed, StorageFailed
    assert len(error_sites()) > 100
    site = Site("x", (ANY, ": the archive ", ANY, " reads back different (", ANY, ")"))
    assert leading(site).match("…: the archive … reads back different (…)")
    assert leading(site).match("ontrack_raw.logins: the archive gs://b/a reads back different")
    assert not leading(site).match("…: the archive … reads back")  # fewer than five words
    assert not leading(site).match("the archive … reads back different")  # not its start


def test_every_error_line_has_a_runbook_entry():
    spans = quoted(RUNBOOK.read_text())
    missing = [f"{site.where}: {site.shown}" for site in error_sites()
               if not any(leading(site).match(span) for span in spans)]
    assert not missing, (
        f"{len(missing)} error lines have no entry in {RUNBOOK.relative_to(ROOT)} (quote each "
        "line's start in a code span, `…` for what it fills in, and say what to do):\n"
        + "\n".join(missing))
