"""A throwaway PostgreSQL server for the database tests, and small project databases.

The server is the system's own PostgreSQL (``.ci/postgres.sh`` installs it): ``initdb``
into a fresh temporary directory, started by ``pg_ctl`` on a free port of 127.0.0.1 with
its socket in that directory, so that every pytest-xdist worker has its own server.
As root, PostgreSQL refuses to run: the server then runs as the ``postgres`` user
(``runuser``).  It is stopped and its directory removed when the session ends.  The
tests that need it are skipped, with the reason, only where no PostgreSQL binaries
exist or the ADBC PostgreSQL driver is not installed.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

_SEARCH = ("/usr/local/bin", *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True))


def _binaries() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres."""
    found = shutil.which("initdb")
    candidates = ([str(Path(found).parent)] if found else []) + list(_SEARCH)
    for d in candidates:
        if all((Path(d) / b).is_file() for b in ("initdb", "pg_ctl", "postgres")):
            return Path(d)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


class PostgresServer:
    """A running server: ``uri(database)`` for pbr, ``execute(sql)`` to set tables up."""

    def __init__(self, bindir: Path, root: Path, port: int) -> None:
        self.bindir, self.root, self.port = bindir, root, port
        self.user = "pbr"

    def uri(self, database: str = "postgres", query: str = "") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}{query}"

    def execute(self, sql: str, database: str = "postgres") -> None:
        import adbc_driver_postgresql.dbapi as pg

        with pg.connect(self.uri(database), autocommit=True) as con, con.cursor() as cur:
            for statement in filter(str.strip, sql.split(";")):  # one command at a time
                cur.execute(statement)

    def create_database(self, name: str) -> str:
        self.execute(f'CREATE DATABASE "{name}"')
        return self.uri(name)


def _start(bindir: Path) -> Iterator[PostgresServer]:
    root = Path(tempfile.mkdtemp(prefix="pbr-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    run = _as_server_user
    subprocess.run(run([str(bindir / "initdb"), "-D", str(data), "-U", "pbr",
                        "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"]),
                   check=True, capture_output=True)
    server = None
    for _ in range(5):  # a port taken between the probe and the start: try another
        port = _free_port()
        opts = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -F "
                "-c shared_buffers=16MB -c max_connections=20")
        started = subprocess.run(run([str(bindir / "pg_ctl"), "-D", str(data), "-o", opts,
                                      "-l", str(root / "log"), "-w", "-t", "30", "start"]),
                                 capture_output=True, text=True)
        if started.returncode == 0:
            server = PostgresServer(bindir, root, port)
            break
        time.sleep(0.2)
    if server is None:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {log[-2000:]}")
    try:
        yield server
    finally:
        subprocess.run(run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                            "-w", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this session (one per xdist worker)."""
    bindir = _binaries()
    if bindir is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl, postgres) on PATH, in "
                    "/usr/local/bin or /usr/lib/postgresql/*/bin: run .ci/postgres.sh")
    try:
        import adbc_driver_postgresql.dbapi  # noqa: F401
    except ImportError:
        pytest.skip("adbc-driver-postgresql is not installed: pip install -e '.[test]'")
    yield from _start(bindir)


@pytest.fixture()
def pg_database(postgres: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A fresh database for one test: its URI (no table)."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50].lower()
    postgres.execute(f'DROP DATABASE IF EXISTS "{name}"')
    return postgres.create_database(name)
