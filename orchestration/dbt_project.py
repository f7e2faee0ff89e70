"""The dbt project as Dagster sees it: location, manifest preparation, and the key translator.

Each warehouse folder has dbt's target/ of its own (``dbt_target/``: the manifest, dbt's
partial-parsing state, each run's artifacts and log), so two warehouses built from one checkout
never write the same files. The manifest is prepared once (``dbt parse``) when it is missing,
older than the project's files or parsed for another working file, never per asset; for a
command-line run against a new working file, in the background while the ingestion runs
(``parse_in_background``). A new warehouse starts from the newest manifest parsed in this checkout
(``SEED``, replaced file by file at once), whose asset graph is the same.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject

from orchestration.resources import PROJECT_ROOT, warehouse_from_env

DBT_DIR = PROJECT_ROOT / "dbt_project"
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
SEED = DBT_DIR / "target"  # the newest manifest parsed in this checkout, for any warehouse: a new one starts from it

LAYER_OF_FOLDER = {"staging": "staging", "intermediate": "intermediate", "core": "core",
                   "business": "marts", "audit": "audit"}


def dbt_target(warehouse: Path | None = None) -> Path:
    """dbt's target/ of a warehouse folder (``DCW_WAREHOUSE`` by default)."""
    return (warehouse or warehouse_from_env()) / "dbt_target"


def dbt_project(warehouse: Path | None = None) -> DbtProject:
    """The dbt project, its target/ in the warehouse folder (``DCW_WAREHOUSE`` by default)."""
    return DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR, target_path=dbt_target(warehouse))


def dbt_env(warehouse: Path) -> dict[str, str]:
    """The environment that points dbt (and dagster-dbt, which reads DBT_TARGET_PATH for each run's artifacts
    and partial-parsing state) at a warehouse folder: its working file and its target/."""
    target = str(dbt_target(warehouse))
    return {"DCW_WORKING_DB": str(warehouse / "working.duckdb"), "DBT_TARGET_PATH": target, "DBT_LOG_PATH": target}


def dbt_resource() -> DbtCliResource:
    """The dbt CLI resource the pipeline runs dbt with."""
    return DbtCliResource(project_dir=dbt_project(), dbt_executable=DBT_EXECUTABLE)


def _newest_source_mtime() -> float:
    files = [p for d in ("models", "macros", "tests", "seeds", "snapshots") for p in (DBT_DIR / d).rglob("*")
             if p.is_file()]
    files += [DBT_DIR / "dbt_project.yml", DBT_DIR / "profiles.yml"]
    return max(p.stat().st_mtime for p in files if p.exists())


def _parse_command(*target: str) -> list[str]:
    return [DBT_EXECUTABLE, "parse", "--quiet", "--no-partial-parse", "--project-dir", str(DBT_DIR),
            "--profiles-dir", str(DBT_DIR), *(("--target-path", *target) if target else ())]


def _working_db() -> str:
    """The working file of the warehouse in ``DCW_WAREHOUSE``: dbt's profile reads it as DCW_WORKING_DB."""
    return str(warehouse_from_env() / "working.duckdb")


def _parse_env() -> dict[str, str]:
    return {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **dbt_env(warehouse_from_env())}


def _replace_file(source: Path, destination: Path) -> None:
    """Copy a file (its modification time too) so that readers of ``destination`` see the old or the new one."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.{os.getpid()}")
    shutil.copy2(source, partial)
    os.replace(partial, destination)


def _seed_new_target(manifest: Path) -> None:
    """A warehouse without a manifest starts from the seed's (a manifest parsed for another working file)."""
    if not manifest.exists() and (SEED / "manifest.json").exists() and (SEED / "parsed_for.txt").exists():
        _replace_file(SEED / "parsed_for.txt", manifest.with_name("parsed_for.txt"))
        _replace_file(SEED / "manifest.json", manifest)


def _keep_as_seed(target: Path) -> None:
    for name in ("parsed_for.txt", "manifest.json"):
        _replace_file(target / name, SEED / name)


def _parse_state() -> tuple[bool, bool]:
    """(the manifest is missing or older than the project's files, it was parsed for another working
    file or target/ has no partial-parsing state: a new warehouse seeded with a manifest only, whose
    dbt build would otherwise parse the whole project itself, on the run's critical path)."""
    manifest = dbt_project().manifest_path
    _seed_new_target(manifest)
    stamp = manifest.with_name("parsed_for.txt")
    stale = not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime()
    moved = (not stamp.exists() or stamp.read_text() != _working_db()
             or not manifest.with_name("partial_parse.msgpack").exists())
    return stale, moved


_BACKGROUND: dict[str, tuple[subprocess.Popen, Path, Path]] = {}  # working file → its dbt parse, where, its target/


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
    manifest = dbt_project().manifest_path
    stale, moved = _parse_state()
    if stale or (moved and _working_db() not in _BACKGROUND):
        wait_for_parse()
        done = subprocess.run(_parse_command(str(manifest.parent)), env=_parse_env(), capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"dbt parse failed:\n{done.stdout}\n{done.stderr}")
        manifest.with_name("parsed_for.txt").write_text(_working_db())
        _keep_as_seed(manifest.parent)
    return manifest


def parse_in_background() -> None:
    """For a command-line run against a working file the manifest was not parsed for: start the
    parse now, in a process of its own, so it overlaps the ingestion (~10 s of CPU at any scale).

    Only when the manifest is otherwise current and was parsed for a working file of the same
    name: its contents (the asset graph Dagster builds) are then the same, and only dbt's
    partial-parsing state is for another path. The dbt step calls ``wait_for_parse`` first.
    """
    working = _working_db()
    stale, moved = _parse_state()
    final = dbt_project().manifest_path.parent
    stamp = final / "parsed_for.txt"
    if (stale or not moved or not stamp.exists() or Path(stamp.read_text()).name != Path(working).name
            or working in _BACKGROUND):
        return
    wait_for_parse()
    _remove_dead_parses(final)
    # into a folder of its own: the manifest in target/ is read meanwhile; wait_for_parse moves the result in
    target = tempfile.mkdtemp(prefix=f"parse-{os.getpid()}-", dir=final)
    _BACKGROUND[working] = (subprocess.Popen(_parse_command(target), env=_parse_env(), stdout=subprocess.PIPE,
                                             stderr=subprocess.STDOUT, text=True), Path(target), final)
    atexit.register(wait_for_parse)


def _remove_dead_parses(target: Path) -> None:
    """Remove the folders of background parses whose process died before moving its result in
    (``parse-<pid>-*``, the pid no longer running)."""
    for folder in target.glob("parse-*"):
        pid = folder.name.split("-")[1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def wait_for_parse() -> None:
    """Wait for a parse started by ``parse_in_background``, put its manifest and partial-parsing
    state in target/ (each file replaced at once) and record the working file they are for."""
    for working, (process, target, final) in list(_BACKGROUND.items()):
        output, _ = process.communicate()
        del _BACKGROUND[working]
        try:
            if process.returncode != 0:
                raise RuntimeError(f"dbt parse failed:\n{output}")
            for name in ("partial_parse.msgpack", "manifest.json"):
                os.replace(target / name, final / name)
            (final / "parsed_for.txt").write_text(working)
            _keep_as_seed(final)
        finally:
            shutil.rmtree(target, ignore_errors=True)


def compile_models(names: list[str], database: str = "working", project_dir: Path = DBT_DIR) -> dict[str, str]:
    """unique id → compiled SQL of the named models, compiled against a database of their own (named
    ``database``, as the relations in the manifest the SQL is for) that holds only the raw and ops
    tables as ingestion creates them, empty (``is_incremental()`` is then false: the full-refresh
    form, with the same columns), so that no working file is opened. For a build that ran only
    some models of a changed project (orchestration/column_lineage.py keeps the others' SQL from
    earlier builds)."""
    import duckdb

    from ingestion.load import ensure_raw_tables

    with tempfile.TemporaryDirectory(prefix="dcw-compile-") as tmp:
        path, target = Path(tmp) / f"{database}.duckdb", Path(tmp) / "target"
        with duckdb.connect(str(path)) as con:
            ensure_raw_tables(con)
        done = subprocess.run(
            [DBT_EXECUTABLE, "compile", "--quiet", "--project-dir", str(project_dir), "--profiles-dir",
             str(project_dir), "--target-path", str(target), "--select", *names],
            env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DCW_WORKING_DB": str(path),
                 "DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target)}, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"dbt compile failed:\n{done.stdout}\n{done.stderr}")
        manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
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

    def get_asset_check_spec(self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str,
                             project: DbtProject | None) -> dg.AssetCheckSpec | None:
        """As dagster-dbt's (which describes a test by its ``meta.description`` only), with a description
        for every test: its own, else what it checks, as the UI shows it beside the quality suites' checks."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        description = describe_test(manifest["nodes"][unique_id])
        return dg.AssetCheckSpec(spec.name, asset=spec.asset_key, description=description,
                                 additional_deps=spec.additional_deps, blocking=spec.blocking, metadata=spec.metadata,
                                 automation_condition=spec.automation_condition, partitions_def=spec.partitions_def)


def describe_test(node: Mapping[str, Any]) -> str:
    """``[SEVERITY] what the test checks``: its description, else its generic test, column and arguments."""
    severity = str(node.get("config", {}).get("severity") or "error").upper()
    test = node.get("test_metadata") or {}
    if node.get("description"):
        text = node["description"]
    elif test:
        kwargs = {k: v for k, v in (test.get("kwargs") or {}).items() if k not in ("model", "column_name")}
        text = test["name"] + (f" on {node['column_name']}" if node.get("column_name") else "") + (
            f" ({', '.join(f'{k}={v}' for k, v in kwargs.items())})" if kwargs else "")
    else:
        text = f"singular test {node.get('original_file_path') or node['name']}"
    return f"[{severity}] {' '.join(text.split())}"


TRANSLATOR = Translator(settings=DagsterDbtTranslatorSettings(
    enable_asset_checks=True, enable_duplicate_source_asset_keys=True))
