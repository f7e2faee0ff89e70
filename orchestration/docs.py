"""``make docs``: dbt docs of the published file, as one static page a reader or auditor can open.

The page describes the tables as readers see them: the catalog (tables, columns, types) is read
from a copy of ``published.duckdb`` (so the relations are ``published.marts.*`` and
``published.audit.*``, and the column types are the published ones), the descriptions come from
the dbt models' yml, the owners from the dbt groups the published layers belong to
(models/_groups.yml). The staging and intermediate layers, which no reader sees, are hidden from
the page (``docs.show``). The published file itself is only copied. Runs the pipeline first when
nothing has been published yet.

What does not belong here: the descriptions themselves (the models' yml), the publication.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from orchestration.dbt_project import DBT_DIR, DBT_EXECUTABLE
from orchestration.resources import warehouse_from_env


def build_docs(published: Path, out_dir: Path, target: Path) -> Path:
    """Generate the static docs page for ``published`` into ``out_dir``; return its path."""
    with tempfile.TemporaryDirectory(prefix="dcw-docs-") as tmp:
        copy = Path(tmp) / "published.duckdb"  # the file's name is the database name readers see
        shutil.copyfile(published, copy)
        env = {**os.environ, "DCW_WORKING_DB": str(copy), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        done = subprocess.run([DBT_EXECUTABLE, "docs", "generate", "--static", "--quiet", "--project-dir",
                               str(DBT_DIR), "--profiles-dir", str(DBT_DIR), "--target-path", str(target)],
                              env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"dbt docs generate failed:\n{done.stdout}\n{done.stderr}")
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / "index.html"
    shutil.copyfile(target / "static_index.html", page)
    return page


def main() -> int:
    warehouse = warehouse_from_env()
    published = warehouse / "published.duckdb"
    if not published.exists():
        from orchestration.cli import run

        if run() != 0:
            return 1
    page = build_docs(published, warehouse / "docs", warehouse / "dbt_docs_target")
    print(f"dbt docs of the published file: {page} (open it in a browser; the lineage graph is under "
          "'View Lineage Graph')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
