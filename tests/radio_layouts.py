"""The three places the DSA-110 tables live, as one parametrised fixture (``layout``).

* ``pipeline_files``: the pipeline's four SQLite files in a state directory,
  made by its own DDL (:func:`~lightcurvedb.testing.radio_ddl.create_pipeline_databases`);
* ``pipeline_file``: one SQLite file made by the same DDL
  (:func:`~lightcurvedb.testing.radio_ddl.create_single_database`), no core tables;
* ``sqlite``: a lightcurvedb SQLite database (``migrations.upgrade``);
* ``postgresql``: a migrated PostgreSQL database (tables in schema ``radio``).

Import the fixture into a test module (``from radio_layouts import layout``) and
open sessions with ``layout.session()``. :func:`open_layout` builds one layout
outside the fixture, for tests that compare several; :func:`stored_rows` reads
every radio table back through the models, for comparing layouts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import pathlib
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from lightcurvedb import connect, migrations
from lightcurvedb.radio.binding import GROUPS, group_models, radio_session
from lightcurvedb.testing import radio_ddl

LAYOUTS = ("pipeline_files", "pipeline_file", "sqlite", "postgresql")
_numbers = itertools.count()


@dataclasses.dataclass
class Layout:
    """One layout's databases, open for a test."""

    name: str
    #: What radio_session is given: one engine, or an engine per group.
    binds: Engine | dict[str, Engine]
    #: The SQLite file of each group (None on PostgreSQL).
    files: dict[str, pathlib.Path] | None
    #: Whether the core lightcurvedb tables are in the same database.
    has_core: bool

    def session(self, **options: Any) -> Session:
        """A radio_session over the layout (``core=...`` and the like passed on)."""
        return radio_session(self.binds, **options)

    @property
    def engines(self) -> list[Engine]:
        """Every engine of the layout, once."""
        binds = self.binds.values() if isinstance(self.binds, dict) else [self.binds]
        return list(dict.fromkeys(binds))

    def dumps(self) -> dict[str, list[str]]:
        """The SQL dump of each group's file (pipeline_files only): what a commit changed."""
        assert self.files is not None
        dumps = {}
        for group, path in self.files.items():
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
                dumps[group] = list(con.iterdump())
        return dumps


@contextlib.contextmanager
def open_layout(name: str, directory: pathlib.Path, request: pytest.FixtureRequest
                ) -> Iterator[Layout]:
    """Create the databases of layout ``name`` (files under ``directory``) and open them."""
    server = None
    if name == "pipeline_files":
        files = radio_ddl.create_pipeline_databases(directory / "state")
        binds: Engine | dict[str, Engine] = {
            group: connect(f"sqlite:///{path}") for group, path in files.items()}
        layout = Layout(name, binds, files, has_core=False)
    elif name == "pipeline_file":
        path = radio_ddl.create_single_database(directory / "radio.sqlite3")
        layout = Layout(name, connect(f"sqlite:///{path}"), dict.fromkeys(GROUPS, path),
                        has_core=False)
    elif name == "sqlite":
        path = directory / "lightcurvedb.sqlite3"
        engine = connect(f"sqlite:///{path}")
        migrations.upgrade(engine)
        layout = Layout(name, engine, dict.fromkeys(GROUPS, path), has_core=True)
    elif name == "postgresql":
        from conftest import create_test_database  # the suite's PostgreSQL mode

        server = request.getfixturevalue("postgres_server")
        database = f"radio_layout_{next(_numbers)}"
        engine = connect(create_test_database(server, database))
        migrations.upgrade(engine)
        layout = Layout(name, engine, None, has_core=True)
    else:
        raise ValueError(f"unknown layout {name!r}")
    try:
        yield layout
    finally:
        for engine in layout.engines:
            engine.dispose()
        if server is not None:
            server.drop_database(database)


@pytest.fixture(params=LAYOUTS)
def layout(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[Layout]:
    """Each radio layout in turn, empty."""
    with open_layout(request.param, tmp_path, request) as opened:
        yield opened


def stored_rows(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Every row of every radio table, through the models, by table and primary key."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for group in GROUPS:
        for model in group_models(group):
            mapper = sa.inspect(model)
            names = [column.key for column in mapper.column_attrs]
            query = sa.select(*(getattr(model, name) for name in names)).order_by(
                *mapper.primary_key)
            rows[model.__tablename__] = [dict(zip(names, row, strict=True))
                                         for row in session.execute(query)]
    return rows
