"""A bad file costs only itself: hostile files dropped among good ones, run by the real command.

One ``run`` over the whole sample inbox plus: a csv with a 10 MB line, a zip bomb (a small xlsx
whose sheet unpacks to 600 MiB), a workbook nobody may read (mode 000; as root the command runs
without the capabilities that bypass file permissions), symlinks out of the inbox (to a valid bill
file and to /etc/passwd), and a bill file still being written by another process while the run
reads the inbox. Every good file is loaded and published as in a clean run; each bad one is
refused with its reason; the file being written is left for the next run, which loads it; the peak
memory of the whole process tree stays under 1.5x a clean run's.

A file removed between listing and reading cannot be timed from outside a run: its test drives
the manifest and the loader directly, on real files and a real DuckDB file.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import duckdb

from tests.faults.conftest import cli, manifest

BILL = "power/电费账单_202506.csv"
WRITER = """
import sys, time
from pathlib import Path
target, content, stop = Path(sys.argv[1]), Path(sys.argv[2]).read_bytes(), Path(sys.argv[3])
lines = content.splitlines(keepends=True)
with target.open("wb") as out:
    i = 0
    while not stop.exists() and time.monotonic() < float(sys.argv[4]):
        if i < len(lines) - 1:
            out.write(lines[i])
            i += 1
        out.flush()
        target.touch()
        time.sleep(0.3)
    out.write(b"".join(lines[i:]) + b"\\n")
"""


def _zip_bomb(path: Path, unpacked: int) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            block = b" " * (1 << 20)
            for _ in range(unpacked >> 20):
                part.write(block)


def _without_file_capabilities() -> list[str]:
    """As root, chmod 000 stops nobody: run the command without the capabilities that bypass it."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (Debian package util-linux) is needed to test an unreadable file as root"
    drop = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}"]


def test_hostile_files_cost_only_themselves(world, tmp_path):
    inbox = tmp_path / "inbox"
    shutil.copytree(world.inbox, inbox)
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(inbox / BILL, outside / "电费账单_202506_外部.csv")
    bad = {
        "power/电费账单_超长行.csv": "line_too_long",
        "bureau/dc_ledger/台账_解压炸弹.xlsx": "DCW_MAX_UNPACKED_BYTES",
        "bureau/projects/项目推进表_无权限.xlsx": "permission denied",
        "power/电费账单_外部链接.csv": "outside_inbox",
        "power/passwd.csv": "outside_inbox",
    }
    header = (inbox / BILL).read_bytes().splitlines(keepends=True)[0]
    (inbox / "power/电费账单_超长行.csv").write_bytes(header + b"9564480613," + b"9" * (10 << 20) + b"\n")
    _zip_bomb(inbox / "bureau/dc_ledger/台账_解压炸弹.xlsx", 600 << 20)
    locked = inbox / "bureau/projects/项目推进表_无权限.xlsx"
    shutil.copy(next((inbox / "bureau/projects").glob("*.xlsx")), locked)
    with locked.open("ab") as f:
        f.write(b"\0")  # other bytes than the file it copies, or it would be a mere duplicate
    locked.chmod(0)
    (inbox / "power/电费账单_外部链接.csv").symlink_to(outside / "电费账单_202506_外部.csv")
    (inbox / "power/passwd.csv").symlink_to("/etc/passwd")
    old = time.time() - 86400
    for rel in bad:
        if not (inbox / rel).is_symlink():
            os.utime(inbox / rel, (old, old))

    being_written = inbox / "power/电费账单_202507.csv"
    stop = tmp_path / "stop-writing"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(being_written), str(inbox / BILL), str(stop),
                               str(time.monotonic() + 900)])
    try:
        run = cli(["run"], inbox, tmp_path / "warehouse", tmp_path / "run.log", preexec=_without_file_capabilities())
        assert run.finish() == 0, run.output()[-4000:]
    finally:
        stop.touch()
        writer.wait(timeout=30)

    published = tmp_path / "warehouse" / "published.duckdb"
    files = manifest(published)
    clean = manifest(world.full_warehouse / "published.duckdb")
    assert {p: files.get(p, ("absent", None))[0] for p in clean} == {p: s for p, (s, _) in clean.items()}
    for rel, why in bad.items():
        status, reason = files.get(rel, ("absent", None))
        assert status == "rejected" and why in (reason or ""), (rel, status, reason)
    assert being_written.relative_to(inbox).as_posix() not in files, "a file still being written was read"
    assert run.peak_rss < 1.5 * world.full.peak_rss, (
        f"peak memory {run.peak_rss >> 20} MiB against a clean run's {world.full.peak_rss >> 20} MiB")

    time.sleep(2.5)  # the default settling time: the writer is done
    later = cli(["update"], inbox, tmp_path / "warehouse", tmp_path / "update.log")
    assert later.finish() == 0, later.output()[-4000:]
    status, reason = manifest(published).get("power/电费账单_202507.csv", ("absent", None))
    assert status in ("loaded", "superseded"), (status, reason)


def test_a_file_gone_between_listing_and_reading_is_recorded_as_such(world, tmp_path):
    from ingestion.load import load_source
    from ingestion.manifest import register_inbox

    inbox = tmp_path / "inbox"
    (inbox / "power").mkdir(parents=True)
    gone, kept = "power/电费账单_202405.csv", "power/电费账单_202406.csv"
    for rel in (gone, kept):
        shutil.copy2(world.inbox / rel, inbox / rel)
    con = duckdb.connect(str(tmp_path / "working.duckdb"))
    try:
        register_inbox(con, inbox)
        (inbox / gone).unlink()   # gone after listing, before reading
        load_source(con, inbox, "power")
        statuses = dict(con.execute("select path, status || ': ' || coalesce(reason, '') from ops.file_manifest")
                        .fetchall())
    finally:
        con.close()
    assert statuses[gone].startswith("rejected: file_gone"), statuses
    assert statuses[kept].startswith("loaded"), statuses
