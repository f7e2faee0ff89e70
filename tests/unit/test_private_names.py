"""No library internals outside the justified list of docs/performance.md ("Private internals kept").

The project's Python (product, tests, benchmark) is read as syntax trees, and each of these is a use
of a library's non-public API:

- an import from a ``_``-prefixed module, or of a ``_``-prefixed name, of dagster, dagster-dbt, dbt,
  great-expectations or the standard library (``from dagster._core… import …``);
- an attribute ``x._name`` that the project does not define itself (so it belongs to a library
  object: ``pool._processes``), other than names documented as public (a namedtuple's ``_replace``);
- a method ``_name`` defined in a subclass of a library class that has that attribute (an override
  of the library's internals);
- an assignment to an attribute of a library module (``engine.HASH_THRESHOLD = 0``).

A use outside ``JUSTIFIED`` fails; so does a justified entry no longer used or not in docs/performance.md.
"""
from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("orchestration", "ingestion", "sample_world", "bench", "tests")
LIBRARIES = {"dagster", "dagster_dbt", "dbt", "great_expectations"} | set(sys.stdlib_module_names)
# documented as public despite the underscore: namedtuple's methods, os._exit, sys._getframe
PUBLIC_UNDERSCORE = {"_replace", "_asdict", "_fields", "_make", "_field_defaults", "_exit", "_getframe"}

# (file, private name) → why it stays; each is listed with its measured worth in docs/performance.md
JUSTIFIED: dict[tuple[str, str], str] = {
    ("orchestration/instance.py", "dagster._core.storage.event_log.sqlite.sqlite_event_log"):
        "the kept-connection event log: no public storage option stores SQLite events without an fsync per event",
    ("orchestration/instance.py", "SqliteEventLogStorage._connect"): "same",
    ("orchestration/instance.py", "_initdb"): "same",
    ("orchestration/instance.py", "_initialized_dbs"): "same",
    ("orchestration/instance.py", "_db_lock"): "same",
    ("tests/unit/test_instance.py", "dagster._core.storage.event_log.sqlite.sqlite_event_log"):
        "the behavioural tests of the kept-connection event log",
}


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _files() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py"))


def _project_defined(trees: dict[Path, ast.AST]) -> set[str]:
    """Private names the project defines itself (functions, classes, variables, attributes it assigns)."""
    names = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.alias) and node.asname:
                names.add(node.asname)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
    return {n for n in names if _is_private(n)}


def _library(module: str | None) -> bool:
    return bool(module) and module.split(".")[0] in LIBRARIES and module != "__future__"


def _imported(tree: ast.AST) -> dict[str, str]:
    """Local name → the dotted path it was imported as, for imports from the libraries."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _library(alias.name):
                    names[alias.asname or alias.name.split(".")[0]] = alias.asname and alias.name or alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _library(node.module):
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _resolve(dotted: str):
    module, _, attr = dotted.rpartition(".")
    try:
        return importlib.import_module(dotted)
    except ImportError:
        pass
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return None


def private_uses() -> set[tuple[str, str]]:
    trees = {path: ast.parse(path.read_text(encoding="utf-8"), str(path)) for path in _files()}
    own = _project_defined(trees)
    found = set()
    for path, tree in trees.items():
        rel = path.relative_to(ROOT).as_posix()
        imported = _imported(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if _library(alias.name) and any(_is_private(part) for part in alias.name.split(".")):
                        found.add((rel, alias.name))
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and _library(node.module):
                if any(_is_private(part) for part in node.module.split(".")):
                    found.add((rel, node.module))
                found |= {(rel, f"{node.module}.{a.name}") for a in node.names if _is_private(a.name)}
            elif isinstance(node, ast.Attribute) and _is_private(node.attr):
                if node.attr not in own and node.attr not in PUBLIC_UNDERSCORE:
                    found.add((rel, node.attr))
            elif isinstance(node, ast.ClassDef):
                bases = [_resolve(imported[b.id]) for b in node.bases if isinstance(b, ast.Name) and b.id in imported]
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and _is_private(item.name):
                        for base in bases:
                            if base is not None and hasattr(base, item.name):
                                found.add((rel, f"{base.__name__}.{item.name}"))
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                            and target.value.id in imported:
                        obj = _resolve(imported[target.value.id])
                        if obj is not None and type(obj).__name__ == "module":
                            found.add((rel, f"{imported[target.value.id]}.{target.attr}"))
    return found


def test_no_private_library_names_outside_the_justified_list():
    found = private_uses()
    unjustified = sorted(found - set(JUSTIFIED))
    assert unjustified == [], f"private library names used (use a public API, or justify in docs/performance.md): {unjustified}"
    stale = sorted(set(JUSTIFIED) - found)
    assert stale == [], f"justified but no longer used (remove from JUSTIFIED and docs/performance.md): {stale}"


def test_every_justified_use_is_documented_with_its_worth():
    text = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    section = text.split("## Private internals kept", 1)[1].split("\n## ", 1)[0]
    for path, name in JUSTIFIED:
        assert path in section and name.rsplit(".", 1)[-1] in section, (path, name)


def test_the_scan_finds_each_kind_of_private_use(tmp_path, monkeypatch):
    """The scan itself: each kind of use in a file of the project's shape is found; public forms are not."""
    module = tmp_path / "orchestration" / "probe.py"
    module.parent.mkdir()
    module.write_text(
        "import collections\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from dagster._core.storage.tags import PARTITION_NAME_TAG\n"
        "from great_expectations.execution_engine import pandas_execution_engine\n"
        "from dagster_dbt import DbtCliResource\n"
        "pandas_execution_engine.HASH_THRESHOLD = 0\n"
        "class Mine(DbtCliResource):\n"
        "    def _cli_version(self): return None\n"
        "    def _own_helper(self): return None\n"
        "def f(pool: ProcessPoolExecutor):\n"
        "    point = collections.namedtuple('P', 'x')(1)._replace(x=2)\n"
        "    return pool._processes, point._asdict(), Mine()._own_helper()\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "FOLDERS", ("orchestration",))
    assert private_uses() == {
        ("orchestration/probe.py", "dagster._core.storage.tags"),
        ("orchestration/probe.py", "great_expectations.execution_engine.pandas_execution_engine.HASH_THRESHOLD"),
        ("orchestration/probe.py", "DbtCliResource._cli_version"),
        ("orchestration/probe.py", "_processes"),
    }
