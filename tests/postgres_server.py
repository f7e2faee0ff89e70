"""A real PostgreSQL server for the tests: Debian's ``postgresql`` binaries, a temporary data folder.

The server refuses to run as root, so under root ``initdb`` and ``pg_ctl`` run as the ``postgres``
user (``runuser``), with a data folder that user owns. It listens on 127.0.0.1 on a free port,
with its socket in the temporary folder; host connections need a password (scram-sha-256), as a
BI server's would. Missing binaries are a failure naming the package to install, never a skip.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

MISSING = ("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb): "
           "install the Debian package `postgresql` (apt-get install -y postgresql)")
SUPERUSER_PASSWORD = "dcw-test-superuser"


def find_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    bin: Path
    root: Path
    port: int

    def url(self, user: str = "postgres", password: str = SUPERUSER_PASSWORD, database: str = "postgres") -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def new_database(self, read_all_stats: bool = True) -> tuple[str, str]:
        """A fresh database owned by a fresh pipeline role (LOGIN, CREATEROLE, not a superuser; a
        member of pg_read_all_stats unless told otherwise, as docs/bi.md says); returns (the
        pipeline's URL, the database's name)."""
        import psycopg

        name = "dcw_" + uuid.uuid4().hex[:8]
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"create role {name} login createrole password 'pipeline'")
            if read_all_stats:
                admin.execute(f"grant pg_read_all_stats to {name}")
            admin.execute(f"create database {name} owner {name}")
        return self.url(name, "pipeline", name), name


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def start() -> Server:
    bin_dir = find_bin()
    if bin_dir is None:
        raise RuntimeError(MISSING)
    root = Path(tempfile.mkdtemp(prefix="dcw-postgres-"))  # under /tmp: the postgres user must reach it
    data = root / "data"
    pwfile = root / "pw"
    pwfile.write_text(SUPERUSER_PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(pwfile, "postgres", "postgres")
    os.chmod(root, 0o700)
    done = subprocess.run(_as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8",
                                        "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256",
                                        f"--pwfile={pwfile}"]), capture_output=True, text=True)
    if done.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {done.stdout}{done.stderr}")
    port = free_port()
    options = f"-k {root} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40"
    done = subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options,
                                        "-l", str(root / "server.log"), "-w", "-t", "60", "start"]),
                          capture_output=True, text=True)
    if done.returncode != 0:
        log = (root / "server.log").read_text(errors="replace") if (root / "server.log").exists() else ""
        raise RuntimeError(f"PostgreSQL did not start: {done.stdout}{done.stderr}{log[-2000:]}")
    return Server(bin_dir, root, port)


def stop(server: Server) -> None:
    subprocess.run(_as_postgres([str(server.bin / "pg_ctl"), "-D", str(server.root / "data"), "-m", "fast",
                                 "-w", "stop"]), capture_output=True)
    shutil.rmtree(server.root, ignore_errors=True)
