"""Crash-only pieces on their own, with real processes and files: leases, the warehouse lock, a
locked working file, the files no publication has included yet, and the bounds on inputs."""
from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
import zipfile

import duckdb
import pytest

HOLD = """
import sys, time
from pathlib import Path
{body}
print("held", flush=True)
time.sleep(600)
"""


def _holder(body: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD.format(body=body)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_lease_is_held_while_its_process_lives_and_free_once_it_is_killed(tmp_path):
    from orchestration.recovery import lease_state

    proc = _holder(f"from orchestration.recovery import take_lease\ntake_lease(Path({str(tmp_path)!r}), 'run-1')")
    try:
        assert lease_state(tmp_path, "run-1") == "held"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert lease_state(tmp_path, "run-1") == "free"
    assert lease_state(tmp_path, "run-2") == "none"


def test_a_second_command_on_a_warehouse_refuses_naming_the_first(tmp_path):
    from orchestration.recovery import WarehouseBusy, WarehouseLock

    proc = _holder("from orchestration.recovery import WarehouseLock\n"
                   f"lock = WarehouseLock(Path({str(tmp_path)!r}), 'dcw run').__enter__()")
    try:
        with pytest.raises(WarehouseBusy, match=rf"in use by PID {proc.pid} \(dcw run, since "):
            with WarehouseLock(tmp_path, "dcw update"):
                pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with WarehouseLock(tmp_path, "dcw update"):  # the kernel released the dead holder's lock
        pass


def test_a_locked_working_file_is_reported_with_its_pid(tmp_path, monkeypatch):
    from orchestration.resources import WorkingFileLocked, open_working_file

    working = tmp_path / "working.duckdb"
    duckdb.connect(str(working)).close()
    proc = _holder(f"import duckdb\ncon = duckdb.connect({str(working)!r})")
    monkeypatch.setenv("DCW_LOCK_WAIT_SECONDS", "1")
    started = time.monotonic()
    try:
        with pytest.raises(WorkingFileLocked, match=rf"locked by another process \(PID {proc.pid}: .*python"):
            open_working_file(working)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert 1 <= time.monotonic() - started < 10
    open_working_file(working).close()  # free again


def test_update_picks_up_files_not_yet_published(tmp_path):
    from ingestion.manifest import mark_published, register_inbox, unpublished

    inbox = tmp_path / "inbox"
    (inbox / "power").mkdir(parents=True)
    (inbox / "power" / "a.csv").write_text("x\n")
    con = duckdb.connect(str(tmp_path / "working.duckdb"))
    try:
        assert unpublished(con) == []
        register_inbox(con, inbox)
        assert unpublished(con) == ["power/a.csv"]           # pending: a run died before loading it
        mark_published(con, "run-1")
        assert unpublished(con) == []
        (inbox / "power" / "b.csv").write_text("y\n")
        register_inbox(con, inbox)
        assert unpublished(con) == ["power/b.csv"]
        assert con.execute("select path, published_run_id from ops.file_manifest order by 1").fetchall() == [
            ("power/a.csv", "run-1"), ("power/b.csv", None)]
    finally:
        con.close()


def test_symlinks_out_of_the_inbox_are_refused_unread_and_unreadable_files_recorded(tmp_path):
    from ingestion.manifest import NOT_READ, scan

    inbox, outside = tmp_path / "inbox", tmp_path / "outside"
    (inbox / "power").mkdir(parents=True)
    outside.mkdir()
    (outside / "bill.csv").write_text("secret\n")
    (inbox / "power" / "link.csv").symlink_to(outside / "bill.csv")
    (inbox / "power" / "folder").symlink_to(outside, target_is_directory=True)
    (inbox / "power" / "inside.csv").write_text("ok\n")
    (inbox / "power" / "alias.csv").symlink_to(inbox / "power" / "inside.csv")
    files = {f.path: f for f in scan(inbox)[0]}
    assert files["power/link.csv"].sha256 == NOT_READ and files["power/link.csv"].refusal.startswith("outside_inbox")
    assert files["power/folder"].refusal.startswith("outside_inbox")
    assert files["power/alias.csv"].refusal is None and files["power/alias.csv"].sha256 == files[
        "power/inside.csv"].sha256


def test_a_file_modified_just_now_is_left_for_the_next_run(tmp_path, monkeypatch):
    from ingestion.manifest import scan

    monkeypatch.setenv("DCW_SETTLE_SECONDS", "60")
    (tmp_path / "power").mkdir()
    (tmp_path / "power" / "new.csv").write_text("x\n")
    assert scan(tmp_path)[0] == []
    monkeypatch.setenv("DCW_SETTLE_SECONDS", "0")
    assert [f.path for f in scan(tmp_path)[0]] == ["power/new.csv"]


def test_a_zip_bomb_is_refused_by_the_bytes_it_really_unpacks_to(tmp_path, monkeypatch):
    from ingestion.load import parse_file

    bomb = tmp_path / "台账.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"<c r='A1'/>" * 300_000)
    monkeypatch.setenv("DCW_MAX_UNPACKED_BYTES", str(1 << 20))
    result = parse_file("dc_ledger", bomb)
    assert result.status == "rejected" and "DCW_MAX_UNPACKED_BYTES" in result.reason
    monkeypatch.setenv("DCW_MAX_UNPACKED_BYTES", str(1 << 30))
    monkeypatch.setenv("DCW_MAX_SHEET_CELLS", "1000")
    result = parse_file("dc_ledger", bomb)
    assert result.status == "rejected" and "DCW_MAX_SHEET_CELLS" in result.reason


def test_csv_lines_and_cells_over_the_limits_are_refused_naming_them(tmp_path, monkeypatch):
    from ingestion.load import parse_file

    monkeypatch.setenv("DCW_MAX_LINE_BYTES", "1000")
    monkeypatch.setenv("DCW_MAX_FIELD_BYTES", "100")
    long_line, long_cell = tmp_path / "line.csv", tmp_path / "cell.csv"
    long_line.write_text("户号,电量\n" + "1," * 600 + "\n", encoding="utf-8")
    long_cell.write_text("户号,电量\n1," + "9" * 500 + "\n", encoding="utf-8")
    for path, limit in ((long_line, "DCW_MAX_LINE_BYTES"), (long_cell, "DCW_MAX_FIELD_BYTES")):
        result = parse_file("power", path)
        assert result.status == "rejected" and limit in result.reason, (path.name, result.reason)


def test_any_parser_failure_refuses_the_file_only(tmp_path):
    from ingestion.load import parse_file

    garbage = tmp_path / "bill.xlsx"
    garbage.write_bytes(b"PK\x03\x04" + b"\x00" * 100)  # a zip header and nothing behind it
    result = parse_file("power", garbage)
    assert result.status == "rejected" and result.reason.startswith("unreadable_file"), result.reason


def test_the_period_probe_does_not_read_a_link_out_of_the_inbox(tmp_path):
    from ingestion.periods import periods_by_kind
    from sample_world import generate

    sample = tmp_path / "sample"
    generate(sample)
    inbox, outside = tmp_path / "inbox", tmp_path / "outside"
    (inbox / "power").mkdir(parents=True)
    outside.mkdir()
    shutil.copy(sample / "power/电费账单_202404.csv", inbox / "power/电费账单_202404.csv")
    shutil.copy(sample / "power/电费账单_202403.csv", outside / "电费账单_202403.csv")
    (inbox / "power" / "外部.csv").symlink_to(outside / "电费账单_202403.csv")
    inside = periods_by_kind(inbox, ["power/电费账单_202404.csv"])["power"]
    found = periods_by_kind(inbox, ["power/电费账单_202404.csv", "power/外部.csv"])["power"]
    assert "2024-03" not in {d.strftime("%Y-%m") for d in inside}
    assert found == inside  # the linked file's months (2024-03) are not read
