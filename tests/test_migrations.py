"""Migrations: one head, upgrade matches the models exactly, downgrade removes everything."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from lightcurvedb import connect, migrations
from lightcurvedb.core.base import metadata

BOTH = pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)


def _diff(connection):
    context = MigrationContext.configure(connection, opts=migrations.context_options(connection))
    return compare_metadata(context, metadata)


def test_exactly_one_head():
    script = ScriptDirectory.from_config(migrations.alembic_config())
    assert len(script.get_heads()) == 1
    assert migrations.heads() == tuple(script.get_heads())


def test_scripts_ship_with_the_package():
    location = migrations.script_location()
    assert (location / "env.py").is_file()
    assert any((location / "versions").glob("0001_*.py"))


@BOTH
def test_upgrade_down_and_up_again(empty_database_url):
    engine = connect(empty_database_url)
    try:
        assert migrations.current(engine) == ()
        migrations.upgrade(engine)
        assert migrations.current(engine) == migrations.heads()
        with engine.connect() as connection:
            assert _diff(connection) == []
            tables = set(sa.inspect(connection).get_table_names())
        assert set(metadata.tables) <= tables

        migrations.downgrade(engine, "base")
        with engine.connect() as connection:
            left = set(sa.inspect(connection).get_table_names()) - {"alembic_version"}
        assert left == set()
        assert migrations.current(engine) == ()

        migrations.upgrade(engine)
        with engine.connect() as connection:
            assert _diff(connection) == []
    finally:
        engine.dispose()


@BOTH
def test_drift_would_be_detected(empty_database_url):
    """The empty-diff check is real: a column the migrations lack shows up."""
    engine = connect(empty_database_url)
    try:
        migrations.upgrade(engine)
        with engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE target ADD COLUMN stray INTEGER")
            diff = _diff(connection)
        assert [(op[0], op[2], op[3].name) for op in diff] == [("remove_column", "target", "stray")]
    finally:
        engine.dispose()


@BOTH
def test_observation_wide_flag_index_is_partial(empty_database_url):
    engine = connect(empty_database_url)
    try:
        migrations.upgrade(engine)
        index = {i["name"]: i for i in sa.inspect(engine).get_indexes("quality_flag_array")}[
            "uq_quality_flag_array_observation_wide"]
        assert index["unique"]
        assert index["column_names"] == ["type", "observation_id"]
        where = index["dialect_options"][f"{engine.dialect.name}_where"]
        assert "target_id IS NULL" in str(where)
    finally:
        engine.dispose()
