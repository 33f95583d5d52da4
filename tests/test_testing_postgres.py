"""Tests for lightcurvedb.testing.postgres (real, throwaway PostgreSQL servers)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from lightcurvedb.testing.postgres import (
    PostgresUnavailable,
    TemporaryPostgres,
    find_postgres_bindir,
)

BINDIR = find_postgres_bindir()
if BINDIR is None:
    if os.environ.get("LIGHTCURVEDB_REQUIRE_POSTGRES") == "1":
        pytest.fail(
            "LIGHTCURVEDB_REQUIRE_POSTGRES=1 but no PostgreSQL binaries were found",
            pytrace=False,
        )
    pytest.skip(
        "PostgreSQL server binaries not found (install PostgreSQL or set LIGHTCURVEDB_PG_BINDIR)",
        allow_module_level=True,
    )


def _expected_major() -> str:
    assert BINDIR is not None
    out = subprocess.run(
        [str(BINDIR / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"PostgreSQL\)?\s+(\d+)", out)
    assert match, out
    return match.group(1)


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def pg() -> Iterator[TemporaryPostgres]:
    with TemporaryPostgres() as server:
        yield server


def test_full_lifecycle() -> None:
    server = TemporaryPostgres()
    server.start()
    try:
        data_dir = server.data_dir
        assert data_dir is not None and data_dir.is_dir()
        port = server.port
        assert _port_open(port)
        assert server.host == "127.0.0.1" and server.superuser == "postgres"

        server.create_database("lifecycle db")
        url = server.url("lifecycle db")
        assert url.drivername == "postgresql+psycopg"
        assert (url.username, url.host, url.port) == ("postgres", "127.0.0.1", port)
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                version = conn.execute(text("select version()")).scalar_one()
                assert f"PostgreSQL {_expected_major()}." in version
                conn.execute(text("create table t (id int primary key, name text)"))
                conn.execute(
                    text("insert into t values (:i, :n)"),
                    [{"i": 1, "n": "alpha"}, {"i": 2, "n": "β"}],
                )
            with engine.connect() as conn:
                rows = conn.execute(text("select id, name from t order by id")).all()
            assert [tuple(r) for r in rows] == [(1, "alpha"), (2, "β")]
            # Keep a connection open: drop_database must force it closed.
            held = engine.connect()
            held.execute(text("select 1"))
            server.drop_database("lifecycle db")
            held.invalidate()
            held.close()
        finally:
            engine.dispose()
        names = {r[0] for r in server.run_sql("select datname from pg_database")}
        assert "lifecycle db" not in names
    finally:
        server.stop()

    assert not server.running and server.data_dir is None
    assert not data_dir.exists()
    assert not data_dir.parent.exists()
    assert not _port_open(port)


def test_stop_twice_is_harmless() -> None:
    server = TemporaryPostgres()
    server.stop()  # never started
    with server:
        assert server.running
    server.stop()
    server.stop()
    assert not server.running


def test_create_database_from_template(pg: TemporaryPostgres) -> None:
    pg.create_database("tmpl")
    pg.run_sql("create table seeded (x int)", database="tmpl")
    pg.run_sql("insert into seeded values (42)", database="tmpl")
    pg.create_database("copy", template="tmpl")
    try:
        assert pg.run_sql("select x from seeded", database="copy") == [(42,)]
    finally:
        pg.drop_database("copy")
        pg.drop_database("tmpl")
    pg.drop_database("never-existed")  # IF EXISTS: no error


def test_start_failure_reports_command_and_log(pg: TemporaryPostgres) -> None:
    clash = TemporaryPostgres(port=pg.port)  # port already taken by the fixture server
    with pytest.raises(RuntimeError) as info:
        clash.start()
    message = str(info.value)
    assert "pg_ctl" in message and f"-p {pg.port}" in message
    assert "server log tail" in message and "Address already in use" in message
    assert not clash.running
    assert pg.run_sql("select 1") == [(1,)]


def test_psycopg2_url(pg: TemporaryPostgres) -> None:
    engine = create_engine(pg.url(driver="psycopg2"))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("select current_user")).scalar_one() == "postgres"
    finally:
        engine.dispose()


def test_forked_child_exit_does_not_stop_server(pg: TemporaryPostgres) -> None:
    pid = os.fork()
    if pid == 0:  # child: run the atexit safety net, which must be a no-op here
        code = 1
        try:
            pg._atexit_stop()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert pg.running and _port_open(pg.port)
    assert pg.run_sql("select 1") == [(1,)]


def test_runs_as_unprivileged_user_when_root(pg: TemporaryPostgres) -> None:
    owner = pg.run_sql(
        "select r.rolname from pg_roles r where r.rolsuper and r.rolname = current_user"
    )
    assert owner == [("postgres",)]
    if os.geteuid() == 0:
        assert pg.user in ("postgres", "nobody")
        assert pg.data_dir is not None
        assert pg.data_dir.stat().st_uid != 0


def test_nonexistent_bindir_raises(tmp_path: os.PathLike[str]) -> None:
    missing = os.path.join(tmp_path, "no-such-bindir")
    with pytest.raises(PostgresUnavailable, match=r"not found: .*no-such-bindir.*initdb"):
        TemporaryPostgres(bindir=missing)


def test_env_var_overrides_bindir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIGHTCURVEDB_PG_BINDIR", "/opt/custom/pg/bin")
    assert str(find_postgres_bindir()) == "/opt/custom/pg/bin"
    with pytest.raises(PostgresUnavailable, match="LIGHTCURVEDB_PG_BINDIR"):
        TemporaryPostgres()
