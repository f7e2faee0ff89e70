"""The dashboard page without a browser: the vendored ECharts, a self-contained page naming its publication,
rebuilt with each publication, and a failure to build it that leaves the publication and the other outputs standing.
(In the browser: tests/integration/test_dashboard.py.)"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.dashboard import build_dashboard, dashboard_run_id
from orchestration.dashboard.page import ECHARTS, ECHARTS_SHA256, ECHARTS_VERSION
from orchestration.publish_outputs import OutputsBehind, bring_up_to_date, catch_up
from orchestration.publish_parquet import current_run_id
from tests.publication_files import make_published

ROOT = Path(__file__).resolve().parents[2]


def test_the_vendored_echarts_is_the_recorded_release():
    assert hashlib.sha256(ECHARTS.read_bytes()).hexdigest() == ECHARTS_SHA256
    notes = (ECHARTS.parent / "README.md").read_text(encoding="utf-8")
    assert f"version: {ECHARTS_VERSION}" in notes and ECHARTS_SHA256 in notes
    assert "Apache License" in (ECHARTS.parent / "LICENSE").read_text(encoding="utf-8")
    assert f't.version="{ECHARTS_VERSION}"' in ECHARTS.read_text(encoding="utf-8")


def test_the_page_is_one_file_that_names_its_publication_and_says_what_it_lacks(tmp_path):
    published = make_published(tmp_path / "published.duckdb", "run-1", 1)   # marts of an older, smaller layout
    page = build_dashboard(published, tmp_path / "dashboard")
    assert page == tmp_path / "dashboard" / "index.html"
    assert dashboard_run_id(page.parent) == "run-1"
    text = page.read_text(encoding="utf-8")
    assert ECHARTS.read_text(encoding="utf-8") in text                       # the library inlined
    around = text.replace(ECHARTS.read_text(encoding="utf-8"), "")
    assert not re.search(r"<script[^>]+src=|<link\b|<img\b|@import|url\(|https?://", around)  # nothing fetched
    assert "marts.mart_cluster_month" in text and "marts.mart_alerts" in text   # the missing marts named
    assert [p.name for p in page.parent.iterdir()] == ["index.html"]          # no temporary file left


def test_the_outputs_step_builds_the_page_once_per_publication(tmp_path, monkeypatch):
    monkeypatch.delenv("DCW_POSTGRES_URL", raising=False)
    published = make_published(tmp_path / "published.duckdb", "run-1", 1)
    outcome = bring_up_to_date(published, tmp_path)
    assert outcome.dashboard == tmp_path / "dashboard" / "index.html"
    assert set(outcome.seconds) == {"parquet", "dashboard"}
    assert bring_up_to_date(published, tmp_path).dashboard is None           # up to date: nothing built
    make_published(published, "run-2", 2)
    assert catch_up(tmp_path) is None
    assert dashboard_run_id(tmp_path / "dashboard") == "run-2"


def test_a_dashboard_that_cannot_be_built_leaves_the_publication_and_parquet_standing(tmp_path, monkeypatch):
    monkeypatch.delenv("DCW_POSTGRES_URL", raising=False)
    published = make_published(tmp_path / "published.duckdb", "run-1", 1)
    bring_up_to_date(published, tmp_path)
    before = (tmp_path / "dashboard" / "index.html").read_bytes()
    make_published(published, "run-2", 2)
    blocked = tmp_path / "dashboard"
    os.rename(blocked, tmp_path / "kept")
    blocked.write_text("a file where the dashboard's folder belongs")
    with pytest.raises(OutputsBehind) as behind:
        bring_up_to_date(published, tmp_path)
    assert str(behind.value).startswith(f"dashboard not rebuilt ({blocked}): ")
    assert "the next run" in str(behind.value)
    assert current_run_id(tmp_path) == "run-2"                               # Parquet done all the same
    assert (tmp_path / "published.duckdb").exists()
    blocked.unlink()
    os.rename(tmp_path / "kept", blocked)
    assert (blocked / "index.html").read_bytes() == before                   # the previous page untouched
    assert catch_up(tmp_path) is None                                        # the next run builds it
    assert dashboard_run_id(blocked) == "run-2"


def test_make_dashboard_without_a_publication_says_so_in_one_line(tmp_path):
    env = {**os.environ, "DCW_WAREHOUSE": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "orchestration.cli", "dashboard"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"nothing built: no published warehouse at {tmp_path / 'published.duckdb'}: run the pipeline first (make run)"]


def test_make_dashboard_rebuilds_from_the_published_file(tmp_path):
    make_published(tmp_path / "published.duckdb", "run-7", 1)
    env = {**os.environ, "DCW_WAREHOUSE": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "orchestration.cli", "dashboard"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"dashboard: {tmp_path / 'dashboard' / 'index.html'}"
    assert dashboard_run_id(tmp_path / "dashboard") == "run-7"


def test_a_page_left_half_written_by_a_dead_process_is_removed_by_the_next_build(tmp_path):
    published = make_published(tmp_path / "published.duckdb", "run-1", 1)
    out = tmp_path / "dashboard"
    out.mkdir()
    dead, live = out / ".index.html.dead.tmp", out / ".index.html.live.tmp"
    dead.write_text("<html><head>half")
    live.write_text("<html><head>being written")
    hours_ago = dead.stat().st_mtime - 2 * 3600
    os.utime(dead, (hours_ago, hours_ago))
    build_dashboard(published, out)
    assert sorted(p.name for p in out.iterdir()) == [".index.html.live.tmp", "index.html"]
