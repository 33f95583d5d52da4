"""Migration 0011: ``loaded_file`` (files loaders wrote, by name and hash) and ``ix_target_name``.

The table is new, so upgrading keeps every existing row by construction; these
tests check that the migrated schema is the models' (no drift), that the
record's key and cascades hold on both backends, and that a downgrade removes
the table and nothing else.
"""

from __future__ import annotations

import pathlib

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.orm import Session

from lightcurvedb import connect, migrations
from lightcurvedb.models import LoadedFile
from lightcurvedb.testing import factories

BOTH = pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)


def _tables(engine) -> set[str]:
    with engine.connect() as connection:
        return set(sa.inspect(connection).get_table_names())


@BOTH
def test_upgrade_creates_loaded_file_matching_the_model(empty_database_url):
    engine = connect(empty_database_url)
    try:
        migrations.upgrade(engine, "0010")
        before = _tables(engine)
        assert "loaded_file" not in before
        migrations.upgrade(engine, "0011")
        assert _tables(engine) == before | {"loaded_file"}
        migrations.upgrade(engine)      # and the mission plugins' branches
        with engine.connect() as connection:
            options = migrations.context_options(connection)
            assert compare_metadata(MigrationContext.configure(connection, opts=options),
                                    options["target_metadata"]) == []
            indexes = {i["name"] for i in sa.inspect(connection).get_indexes("loaded_file")}
            target_indexes = {i["name"]: i["column_names"]
                              for i in sa.inspect(connection).get_indexes("target")}
        assert {"ix_loaded_file_sha256", "ix_loaded_file_target_id",
                "ix_loaded_file_observation_id"} <= indexes
        assert target_indexes["ix_target_name"] == ["name"]   # a look-up by TIC id alone
    finally:
        engine.dispose()


@BOTH
def test_one_record_per_loader_and_name_deleted_with_its_target(empty_database_url):
    engine = connect(empty_database_url)
    try:
        migrations.upgrade(engine)
        row = {"loader": "tess", "file_name": "x_lc.fits", "sha256": "ab" * 32,
               "size_bytes": 2880, "file_path": pathlib.Path("/data/x_lc.fits")}
        with Session(engine) as session, factories.bound_to(session):
            target = factories.TargetFactory()
            session.add(LoadedFile(**row, target_id=target.id))
            session.commit()
            target_id = target.id
        with pytest.raises(sa.exc.IntegrityError), Session(engine) as session:
            session.add(LoadedFile(**{**row, "sha256": "cd" * 32}))  # same name, other bytes
            session.commit()
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM target WHERE id = :t"), {"t": target_id})
            assert connection.scalar(sa.text("SELECT COUNT(*) FROM loaded_file")) == 0
    finally:
        engine.dispose()


@BOTH
def test_downgrade_drops_only_loaded_file(empty_database_url):
    engine = connect(empty_database_url)
    try:
        migrations.upgrade(engine)
        after = _tables(engine)
        migrations.downgrade(engine, "0010")
        assert _tables(engine) == after - {"loaded_file"}
        with engine.connect() as connection:
            assert "ix_target_name" not in {
                i["name"] for i in sa.inspect(connection).get_indexes("target")}
        migrations.upgrade(engine)
        assert _tables(engine) == after
    finally:
        engine.dispose()
