"""The dbt project as Dagster sees it: location, manifest preparation, and the key translator.

The manifest is prepared once (``dbt parse``) when it is missing or older than the project's
files, never per asset.
"""
from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
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


def ensure_manifest() -> Path:
    """Run ``dbt parse`` when target/manifest.json is missing or stale; return its path.

    Stale means older than the project's files, or parsed for another working file: dbt's
    partial parsing (which Dagster's dbt runs reuse) is lost when the profile's path changes.
    The parse is a full one: dbt's partial parsing drops the properties of singular tests
    (tests/_singular_tests.yml, e.g. the meta that attaches them to an asset) when a test's SQL
    changes, and a singular test without them is silently no longer a Dagster check.
    """
    manifest = DBT_PROJECT.manifest_path
    stamp = manifest.with_name("parsed_for.txt")
    working = os.environ.get("DCW_WORKING_DB", "")
    if (not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime()
            or not stamp.exists() or stamp.read_text() != working):
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        done = subprocess.run([DBT_EXECUTABLE, "parse", "--quiet", "--no-partial-parse", "--project-dir", str(DBT_DIR),
                               "--profiles-dir", str(DBT_DIR)], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"dbt parse failed:\n{done.stdout}\n{done.stderr}")
        stamp.write_text(working)
    return manifest


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
