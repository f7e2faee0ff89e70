"""``dcw docs``: dbt docs (descriptions, columns, lineage graph) as one static page an auditor can open.

Runs the pipeline first when there is no working warehouse yet (the catalog is read from it).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

from orchestration.dbt_project import DBT_DIR, DBT_EXECUTABLE
from orchestration.resources import warehouse_from_env


def main() -> int:
    warehouse = warehouse_from_env()
    working = warehouse / "working.duckdb"
    if not working.exists():
        from orchestration.commands import run

        if run("run") != 0:
            return 1
    env = {**os.environ, "DCW_WORKING_DB": str(working)}
    target = warehouse / "dbt_docs_target"
    subprocess.run([DBT_EXECUTABLE, "docs", "generate", "--static", "--project-dir", str(DBT_DIR),
                    "--profiles-dir", str(DBT_DIR), "--target-path", str(target)], env=env, check=True)
    out = warehouse / "docs"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(target / "static_index.html", out / "index.html")
    print(f"dbt docs: {out / 'index.html'} (open it in a browser; the lineage graph is under 'View Lineage Graph')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
