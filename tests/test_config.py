"""Configuration precedence, the credentials file, drivers, import-time and fork safety."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

import lightcurvedb
from lightcurvedb.core.config import (
    ConfigurationError,
    InsecureConfigWarning,
    config_path,
    default_sqlite_path,
    resolve_url,
    url_from_config,
)

CONF = """[Credentials]
username = astro
password = {password}
database_name = lightcurves
database_host = db.example.org
database_port = 6543
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty home: no LIGHTCURVEDB_URL, XDG dirs inside tmp_path."""
    monkeypatch.delenv("LIGHTCURVEDB_URL", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


def _write_conf(home, password="s3cret", mode=0o600):
    path = home / "config" / "lightcurvedb" / "db.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CONF.format(password=password))
    path.chmod(mode)
    return path


def test_default_is_a_sqlite_file_in_the_data_dir(home):
    url = resolve_url()
    assert url.drivername == "sqlite"
    assert url.database == str(home / "data" / "lightcurvedb" / "lightcurvedb.sqlite3")
    assert default_sqlite_path() == home / "data" / "lightcurvedb" / "lightcurvedb.sqlite3"


def test_config_file_beats_the_default(home):
    _write_conf(home)
    url = resolve_url()
    assert (url.drivername, url.username, url.password, url.host, url.port, url.database) == (
        "postgresql+psycopg", "astro", "s3cret", "db.example.org", 6543, "lightcurves")
    assert config_path() == home / "config" / "lightcurvedb" / "db.conf"


def test_environment_beats_the_config_file(home, monkeypatch):
    _write_conf(home)
    monkeypatch.setenv("LIGHTCURVEDB_URL", "sqlite:////tmp/from-env.sqlite3")
    assert resolve_url().database == "/tmp/from-env.sqlite3"


def test_explicit_url_beats_everything(home, monkeypatch):
    _write_conf(home)
    monkeypatch.setenv("LIGHTCURVEDB_URL", "sqlite:////tmp/from-env.sqlite3")
    assert resolve_url("sqlite:////tmp/explicit.sqlite3").database == "/tmp/explicit.sqlite3"


def test_passwords_with_url_special_characters_survive(home):
    password = "p@ss:w/rd%20#?&"
    url = url_from_config(_write_conf(home, password=password))
    assert url.password == password
    # The rendered URL escapes them, and parsing it back gives the same password.
    assert make_url(url.render_as_string(hide_password=False)).password == password


def test_group_readable_config_warns(home):
    path = _write_conf(home, mode=0o644)
    with pytest.warns(InsecureConfigWarning, match="chmod 600"):
        url_from_config(path)


@pytest.mark.parametrize(("text", "message"), [
    ("[Other]\nusername = x\n", "no \\[Credentials\\] section"),
    ("[Credentials]\nusername = x\n", "lacks database_name"),
    ("[Credentials]\nusername = x\ndatabase_name = y\ndatabase_port = five\n", "not a number"),
    ("[Credentials]\nusername = x\ndatabase_name = y\npasword = z\n", "unknown key.*pasword"),
    ("[Credentials]\nusername = x\ndatabase_name = y\ndialect = mysql\n",
     "dialect 'mysql' is not one of postgresql, postgresql\\+psycopg, postgresql\\+psycopg2$"),
])
def test_broken_config_files_name_the_file_and_the_problem(home, text, message):
    path = home / "db.conf"
    path.write_text(text)
    path.chmod(0o600)
    with pytest.raises(ConfigurationError, match=message) as info:
        url_from_config(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(("dialect", "driver"), [
    (None, "postgresql+psycopg"), ("postgresql", "postgresql+psycopg"),
    ("postgresql+psycopg", "postgresql+psycopg"), (" postgresql+psycopg2", "postgresql+psycopg2")])
def test_a_kavli_style_dialect_key_picks_the_driver(home, dialect, driver):
    path = _write_conf(home)
    if dialect is not None:
        path.write_text(path.read_text() + f"dialect ={dialect}\n")
    url = url_from_config(path)
    assert url.drivername == driver
    assert (url.username, url.host, url.port, url.database) == (
        "astro", "db.example.org", 6543, "lightcurves")


def test_plain_postgresql_urls_use_psycopg3_and_psycopg2_still_works():
    assert resolve_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert resolve_url("postgresql+psycopg2://u@h/db").drivername == "postgresql+psycopg2"


def test_unparseable_url_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="cannot parse database URL"):
        resolve_url("not a url")


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_both_postgres_drivers_read_and_write(postgres_server, driver):
    name = f"drivers_{driver}"
    postgres_server.create_database(name)
    engine = lightcurvedb.connect(postgres_server.url(name, driver=driver))
    try:
        assert engine.dialect.driver == driver
        lightcurvedb.migrations.upgrade(engine)
        with lightcurvedb.session(engine) as s:
            from lightcurvedb.testing import factories

            with factories.bound_to(s):
                lc = factories.DataSetFactory(values=[1.0, 2.0, float("nan")])
            lc_id = lc.id
        with lightcurvedb.session(engine) as s:
            values = s.get(lightcurvedb.models.DataSet, lc_id).values
        assert values.dtype == "float64" and values[:2].tolist() == [1.0, 2.0]
    finally:
        engine.dispose()
        postgres_server.drop_database(name)


def test_import_reads_no_config_and_opens_no_connection(tmp_path):
    # An unreachable database in the environment and a config file that would
    # fail to parse: importing must touch neither, and create no SQLite file.
    conf = tmp_path / "config" / "lightcurvedb" / "db.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("this is not an ini file")
    env = {**os.environ, "LIGHTCURVEDB_URL": "postgresql://nobody@127.0.0.1:1/none",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data")}
    code = "import lightcurvedb, lightcurvedb.models, lightcurvedb.migrations; print('ok')"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert not (tmp_path / "data").exists()


def test_sqlite_connections_enforce_foreign_keys(tmp_path):
    engine = lightcurvedb.connect(f"sqlite:///{tmp_path / 'fk.sqlite3'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_session_commits_and_rolls_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'session.sqlite3'}"
    engine = lightcurvedb.connect(url)
    lightcurvedb.migrations.upgrade(engine)
    engine.dispose()
    from lightcurvedb.models import PhotometricSource

    with lightcurvedb.session(url) as s:
        s.add(PhotometricSource(name="kept"))
    with pytest.raises(RuntimeError), lightcurvedb.session(url) as s:
        s.add(PhotometricSource(name="discarded"))
        s.flush()
        raise RuntimeError("boom")
    with lightcurvedb.session(url) as s:
        assert s.scalars(sa.select(PhotometricSource.name)).all() == ["kept"]
    lightcurvedb.core.engine._shared_engine(url).dispose()


def _connection_identity(connection):
    """The server backend pid on PostgreSQL, the DB-API connection object elsewhere."""
    if connection.dialect.name == "postgresql":
        return connection.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    return id(connection.connection.dbapi_connection)


def _report_from_child(engine, queue):
    with engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM mission")).scalar()
        queue.put((count, _connection_identity(connection)))


def test_engines_survive_fork(engine):
    # The parent has a pooled connection when the children fork; each child
    # must open its own instead of sharing the parent's socket or handle. A
    # fresh engine on the same database, so its pool holds exactly that one.
    engine = lightcurvedb.connect(engine.url)
    with engine.connect() as connection:
        parent_identity = _connection_identity(connection)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [context.Process(target=_report_from_child, args=(engine, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert [count for count, _ in results] == [0, 0]
    assert parent_identity not in {identity for _, identity in results}
    with engine.connect() as connection:
        assert _connection_identity(connection) == parent_identity  # still pooled, still fine
    engine.dispose()


def test_session_allows_commit_inside_the_block(tmp_path):
    # The seed's lineage example calls session.commit() and keeps working.
    from lightcurvedb.models import PhotometricSource, ProcessingMethod

    url = f"sqlite:///{tmp_path / 'commit.sqlite3'}"
    engine = lightcurvedb.connect(url)
    lightcurvedb.migrations.upgrade(engine)
    with lightcurvedb.session(engine) as s:
        s.add(PhotometricSource(name="first"))
        s.commit()
        s.add(ProcessingMethod(name="after the commit"))
    with lightcurvedb.session(engine) as s:
        assert s.scalars(sa.select(ProcessingMethod.name)).all() == ["after the commit"]
        assert s.scalars(sa.select(PhotometricSource.name)).all() == ["first"]
    engine.dispose()
