"""The dbt project as Dagster sees it: location, manifest preparation, and the key translator.

The manifest is prepared once (``dbt parse``) when it is missing, older than the project's
files or parsed for another working file, never per asset; for a command-line run against a new
working file, in the background while the ingestion runs (``parse_in_background``).
"""
from __future__ import annotations

import atexit
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject
from packaging import version

from orchestration.resources import PROJECT_ROOT

DBT_DIR = PROJECT_ROOT / "dbt_project"
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
DBT_PROJECT = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)

LAYER_OF_FOLDER = {"staging": "staging", "intermediate": "intermediate", "core": "core",
                   "business": "marts", "audit": "audit"}


class WarehouseDbtCli(DbtCliResource):
    """dagster-dbt's dbt CLI resource, for the dbt installed beside this Python.

    The stock resource learns the dbt version by running ``dbt --version`` once per run, a
    whole dbt start-up (about 4 s); the version of the dbt-core package installed here is that
    same executable's version. Both overrides are of dagster-dbt internals (pinned in uv.lock);
    tests/unit/test_definitions.py notices if either stops applying.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        """No in-process dbt adapter (about 3 s to load dbt's macros each run): it serves only
        dagster-dbt's fetch_row_counts / fetch_column_metadata, which this project does not use
        (row counts are read after the build, orchestration/assets/dbt.py)."""
        return None


def dbt_resource() -> DbtCliResource:
    """The dbt CLI resource the pipeline runs dbt with."""
    return WarehouseDbtCli(project_dir=DBT_PROJECT, dbt_executable=DBT_EXECUTABLE)


def _newest_source_mtime() -> float:
    files = [p for d in ("models", "macros", "tests", "seeds", "snapshots") for p in (DBT_DIR / d).rglob("*")
             if p.is_file()]
    files += [DBT_DIR / "dbt_project.yml", DBT_DIR / "profiles.yml"]
    return max(p.stat().st_mtime for p in files if p.exists())


def _parse_command(*target: str) -> list[str]:
    return [DBT_EXECUTABLE, "parse", "--quiet", "--no-partial-parse", "--project-dir", str(DBT_DIR),
            "--profiles-dir", str(DBT_DIR), *(("--target-path", *target) if target else ())]


def _parse_env() -> dict[str, str]:
    return {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def _parse_state() -> tuple[bool, bool]:
    """(the manifest is missing or older than the project's files, it was parsed for another working file)."""
    manifest = DBT_PROJECT.manifest_path
    stamp = manifest.with_name("parsed_for.txt")
    stale = not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime()
    return stale, not stamp.exists() or stamp.read_text() != os.environ.get("DCW_WORKING_DB", "")


_BACKGROUND: dict[str, tuple[subprocess.Popen, Path]] = {}  # working file → its dbt parse, and where


def ensure_manifest() -> Path:
    """Run ``dbt parse`` when target/manifest.json is missing or stale; return its path.

    Stale means older than the project's files, or parsed for another working file: dbt's
    partial parsing (which Dagster's dbt runs reuse) is lost when the profile's path changes.
    The parse is a full one: dbt's partial parsing drops the properties of singular tests
    (tests/_singular_tests.yml, e.g. the meta that attaches them to an asset) when a test's SQL
    changes, and a singular test without them is silently no longer a Dagster check. When
    ``parse_in_background`` has started the parse for this working file, the manifest is returned
    as it is (see there) and ``wait_for_parse`` completes it.
    """
    manifest = DBT_PROJECT.manifest_path
    stale, moved = _parse_state()
    if stale or (moved and os.environ.get("DCW_WORKING_DB", "") not in _BACKGROUND):
        wait_for_parse()
        done = subprocess.run(_parse_command(), env=_parse_env(), capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"dbt parse failed:\n{done.stdout}\n{done.stderr}")
        manifest.with_name("parsed_for.txt").write_text(os.environ.get("DCW_WORKING_DB", ""))
    return manifest


def parse_in_background() -> None:
    """For a command-line run against a working file the manifest was not parsed for: start the
    parse now, in a process of its own, so it overlaps the ingestion (~10 s of CPU at any scale).

    Only when the manifest is otherwise current and was parsed for a working file of the same
    name: its contents (the asset graph Dagster builds) are then the same, and only dbt's
    partial-parsing state is for another path. The dbt step calls ``wait_for_parse`` first.
    """
    working = os.environ.get("DCW_WORKING_DB", "")
    stale, moved = _parse_state()
    stamp = DBT_PROJECT.manifest_path.with_name("parsed_for.txt")
    if (stale or not moved or not stamp.exists() or Path(stamp.read_text()).name != Path(working).name
            or working in _BACKGROUND):
        return
    wait_for_parse()
    _remove_dead_parses()
    # into a folder of its own: the manifest in target/ is read meanwhile; wait_for_parse moves the result in
    target = tempfile.mkdtemp(prefix=f"parse-{os.getpid()}-", dir=DBT_PROJECT.manifest_path.parent)
    _BACKGROUND[working] = (subprocess.Popen(_parse_command(target), env=_parse_env(), stdout=subprocess.PIPE,
                                             stderr=subprocess.STDOUT, text=True), Path(target))
    atexit.register(wait_for_parse)


def _remove_dead_parses() -> None:
    """Remove the folders of background parses whose process died before moving its result in
    (``parse-<pid>-*``, the pid no longer running)."""
    for folder in DBT_PROJECT.manifest_path.parent.glob("parse-*"):
        pid = folder.name.split("-")[1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def wait_for_parse() -> None:
    """Wait for a parse started by ``parse_in_background``, put its manifest and partial-parsing
    state in target/ (each file replaced at once) and record the working file they are for."""
    for working, (process, target) in list(_BACKGROUND.items()):
        output, _ = process.communicate()
        del _BACKGROUND[working]
        try:
            if process.returncode != 0:
                raise RuntimeError(f"dbt parse failed:\n{output}")
            for name in ("partial_parse.msgpack", "manifest.json"):
                os.replace(target / name, DBT_PROJECT.manifest_path.with_name(name))
            DBT_PROJECT.manifest_path.with_name("parsed_for.txt").write_text(working)
        finally:
            shutil.rmtree(target, ignore_errors=True)


def compile_models(names: list[str], database: str = "working", project_dir: Path = DBT_DIR) -> dict[str, str]:
    """unique id → compiled SQL of the named models, compiled against a database of their own (named
    ``database``, as the relations in the manifest the SQL is for) that
    holds only the raw and ops tables as ingestion creates them, empty (``is_incremental()`` is
    then false: the full-refresh form, with the same columns), so that the working file is not
    opened. For a build that ran only some models of a changed project (orchestration/column_lineage.py
    keeps the others' SQL from earlier builds)."""
    import duckdb

    from ingestion.load import ensure_raw_tables

    with tempfile.TemporaryDirectory(prefix="dcw-compile-") as tmp:
        path = Path(tmp) / f"{database}.duckdb"
        with duckdb.connect(str(path)) as con:
            ensure_raw_tables(con)
        done = subprocess.run(
            [DBT_EXECUTABLE, "compile", "--quiet", "--project-dir", str(project_dir), "--profiles-dir",
             str(project_dir), "--target-path", str(Path(tmp) / "target"), "--select", *names],
            env={**_parse_env(), "DCW_WORKING_DB": str(path)}, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"dbt compile failed:\n{done.stdout}\n{done.stderr}")
        manifest = json.loads((Path(tmp) / "target" / "manifest.json").read_text(encoding="utf-8"))
    return {uid: node["compiled_code"] for uid, node in manifest["nodes"].items() if node.get("compiled_code")}


class Translator(DagsterDbtTranslator):
    """Keys are [schema, model name]; groups are the layers (staging, intermediate, core, marts, audit)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)  # meta.dagster.asset_key maps to ingestion
        config = dbt_resource_props.get("config", {})
        schema = config.get("schema") or dbt_resource_props.get("schema")
        return dg.AssetKey([schema, dbt_resource_props.get("alias") or dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        for part in fqn[1:-1]:
            if part in LAYER_OF_FOLDER:
                return LAYER_OF_FOLDER[part]
        return "dbt"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]):
        return ["team:data-engineering"]


TRANSLATOR = Translator(settings=DagsterDbtTranslatorSettings(
    enable_asset_checks=True, enable_duplicate_source_asset_keys=True))
