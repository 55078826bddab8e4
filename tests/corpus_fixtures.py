"""Test helpers for the corpus store: a throwaway PostgreSQL cluster (initdb + pg_ctl on a unix socket, as a
non-root user) and a ``store_target`` fixture that runs a test on SQLite and on PostgreSQL.

PostgreSQL tests are skipped when initdb/pg_ctl are missing, except under CI=true, where that is a failure
(`make test` installs PostgreSQL from Debian packages).
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _pg_bin() -> Path | None:
    for name in ("pg_ctl",):
        found = shutil.which(name)
        if found:
            return Path(found).resolve().parent
    hits = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(hits[-1]).parent if hits else None


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"PostgreSQL tests cannot run in CI: {reason}")
    pytest.skip(reason)


class PgCluster:
    def __init__(self, root: Path, socket_dir: Path, user: str) -> None:
        self.root, self.socket_dir, self.user = root, socket_dir, user
        self._n = itertools.count()

    def new_database(self) -> str:
        import psycopg

        name = f"t{next(self._n)}"
        with psycopg.connect(self.url("postgres", driver=False), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def url(self, db: str, *, driver: bool = True) -> str:
        if driver:
            return f"postgresql://{self.user}@/{db}?host={self.socket_dir}"
        return f"host={self.socket_dir} user={self.user} dbname={db}"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    bindir = _pg_bin()
    if bindir is None or not (bindir / "initdb").exists():
        _missing("PostgreSQL (initdb, pg_ctl) is not installed: apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="propscope-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres user (or nobody)
        import pwd

        user = next((u for u in ("postgres", "nobody") if _has_user(u)), None)
        if user is None:
            _missing("running as root and no postgres/nobody user to run the cluster")
        pw = pwd.getpwnam(user)
        os.chown(root, pw.pw_uid, pw.pw_gid)
        prefix = (
            ["runuser", "-u", user, "--"] if shutil.which("runuser") else ["su", user, "-s", "/bin/sh", "-c"]
        )
    data, sock = root / "data", root
    env = {**os.environ, "LC_ALL": "C.UTF-8"}

    def run(*cmd: str) -> None:
        full = [*prefix, " ".join(cmd)] if prefix[:1] == ["su"] else [*prefix, *cmd]
        subprocess.run(full, check=True, capture_output=True, env=env, timeout=120)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "propscope", "--auth=trust", "-E", "UTF8")
        run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(root / "log"),
            "-o",
            f"-c listen_addresses='' -c unix_socket_directories={sock} -c fsync=off",
            "start",
        )
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        _missing(f"cannot start a PostgreSQL cluster: {exc.stderr.decode(errors='replace')[-300:]}")
    try:
        yield PgCluster(root, sock, "propscope")
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
            if prefix[:1] != ["su"]
            else [*prefix, f"{bindir / 'pg_ctl'} -D {data} -m immediate stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store: a SQLite file, or a new database in the throwaway PostgreSQL cluster."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return cluster.new_database()
