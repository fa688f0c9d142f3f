"""A real PostgreSQL 15 for tests: a throw-away cluster made by Debian's ``initdb`` and run by
``pg_ctl`` on a free loopback port (never the machine's own service on 5432), with a fresh
database per test.

PostgreSQL refuses to run as root; run as root, the cluster is made and run as the unprivileged
``postgres`` user (``runuser``), in a directory of its own under the system's temporary
directory (pytest's own tmp dirs are private to root). Connections use TCP on 127.0.0.1 with
``trust`` authentication: the cluster lives only as long as the test session. A missing binary
fails loudly: PostgreSQL is a required part of the test machine (``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

PG_BIN = Path(os.environ.get("TATAP_PG_BIN", "/usr/lib/postgresql/15/bin"))
RUN_AS = "postgres"  # when the tests run as root
SUPERUSER = "tatap"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _binary(name: str) -> str:
    path = PG_BIN / name
    if not os.access(path, os.X_OK):
        raise RuntimeError(
            f"PostgreSQL binary {path} is missing: install Debian's `postgresql` package"
            " (.ci/run does) or set TATAP_PG_BIN"
        )
    return str(path)


def _as_owner(argv: list[str]) -> list[str]:
    """``argv`` run as the cluster's owner: ``postgres`` when we are root, else ourselves."""
    return ["runuser", "-u", RUN_AS, "--", *argv] if os.geteuid() == 0 else argv


@dataclass
class PgCluster:
    """One running cluster; ``url(db)`` names a database in it."""

    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self) -> str:
        """A new empty database; its URL."""
        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def restart(self) -> None:
        """Stop the server (fast: connections are cut) and start it again on the same port."""
        log = str(self.root / "server.log")  # else the server holds our output pipe open
        argv = [_binary("pg_ctl"), "-D", str(self.data), "-l", log, "-m", "fast", "-w", "restart"]
        _run(_as_owner(argv), "pg_ctl restart")

    def stop(self) -> None:
        subprocess.run(
            _as_owner([_binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
            check=False,
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> PgCluster:
    """initdb and start a cluster on a free loopback port; RuntimeError (with its log) if not."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    root = Path(tempfile.mkdtemp(prefix="tatap-pg-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam(RUN_AS)
        os.chown(root, owner.pw_uid, owner.pw_gid)
    cluster = PgCluster(root, _free_port())
    init = [initdb, "-D", str(cluster.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8"]
    _run(_as_owner([*init, "--no-sync", "--locale=C"]), "initdb")
    options = (
        f"-c port={cluster.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
        " -c max_connections=200 -c fsync=on -c synchronous_commit=on"
    )
    log = root / "server.log"
    start = [pg_ctl, "-D", str(cluster.data), "-l", str(log), "-o", options, "-w", "start"]
    try:
        _run(_as_owner(start), "pg_ctl start")
    except RuntimeError as exc:
        text = log.read_text(errors="replace") if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"{exc}\n{text}") from exc
    return cluster


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}): {done.stderr or done.stdout}")


@contextmanager
def running_cluster() -> Iterator[PgCluster]:
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()
