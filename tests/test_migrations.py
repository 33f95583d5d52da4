"""Migrations: one head per branch, upgrade matches the models exactly, downgrade removes all.

The suite runs with the example downstream package ``tests/downstream``
installed (see ``conftest.py``), so its Alembic branch ``lcdb_kepler`` is part
of every check here.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from lightcurvedb import connect, migrations
from lightcurvedb.core.base import SCHEMAS, metadata

BOTH = pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)

#: Branch label -> first revision: lightcurvedb's own branch and the example plugin's.
BRANCHES = {"lightcurvedb": "0001", "lcdb_kepler": "kepler_0001"}
#: The tables the plugin branch creates.
KEPLER_TABLES = {"kepler_observation", "kepler_ffi_frame"}


def _tables(connection):
    """Every table, schema-qualified outside the default schema."""
    inspector = sa.inspect(connection)
    names = set(inspector.get_table_names())
    for schema in set(SCHEMAS) & set(inspector.get_schema_names()):
        names |= {f"{schema}.{name}" for name in inspector.get_table_names(schema=schema)}
    return names


def _expected_tables(engine):
    if engine.dialect.name == "sqlite":  # no schemas: everything in the one file
        return {table.name for table in metadata.tables.values()}
    return set(metadata.tables)


def _diff(connection):
    options = migrations.context_options(connection)
    context = MigrationContext.configure(connection, opts=options)
    return compare_metadata(context, options["target_metadata"])


def test_exactly_one_head_per_branch():
    script = ScriptDirectory.from_config(migrations.alembic_config())
    branch_heads = {label: [rev.revision for rev in script.get_revisions(f"{label}@head")]
                    for label in BRANCHES}
    assert all(len(heads) == 1 for heads in branch_heads.values()), branch_heads
    # Every head is the head of one of the branches, and every branch starts once.
    assert sorted(script.get_heads()) == sorted(heads[0] for heads in branch_heads.values())
    assert sorted(script.get_bases()) == sorted(BRANCHES.values())
    assert migrations.heads() == tuple(sorted(script.get_heads()))
    assert "kepler_0001" in migrations.heads()


def test_plugin_branch_depends_on_the_core_branch():
    script = ScriptDirectory.from_config(migrations.alembic_config())
    needed = {rev.revision for rev in script.iterate_revisions("lcdb_kepler@head", "base")}
    assert {"0001", "0002", "kepler_0001"} <= needed


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
            tables = _tables(connection)
        assert _expected_tables(engine) <= tables
        assert KEPLER_TABLES <= tables  # the plugin branch ran too

        migrations.downgrade(engine, "base")
        with engine.connect() as connection:
            left = _tables(connection) - {"alembic_version"}
            schemas = set(sa.inspect(connection).get_schema_names())
        assert left == set()  # PostGIS's spatial_ref_sys too: the migration installed it
        assert not schemas & set(SCHEMAS)
        assert not KEPLER_TABLES & left
        assert migrations.current(engine) == ()

        migrations.upgrade(engine)
        with engine.connect() as connection:
            assert _diff(connection) == []
    finally:
        engine.dispose()


def _core_head():
    script = ScriptDirectory.from_config(migrations.alembic_config())
    return script.get_revision("lightcurvedb@head").revision


def _engine_tables(engine):
    with engine.connect() as connection:
        return _tables(connection) - {"alembic_version"}


@BOTH
def test_branches_downgrade_separately(empty_database_url):
    """The plugin branch comes off alone; the core revision it depends on takes it along."""
    engine = connect(empty_database_url)
    try:
        migrations.upgrade(engine)
        everything = _engine_tables(engine)

        migrations.downgrade(engine, "lcdb_kepler@base")
        assert migrations.current(engine) == (_core_head(),)
        assert _engine_tables(engine) == everything - KEPLER_TABLES

        migrations.upgrade(engine)
        assert migrations.current(engine) == migrations.heads()
        migrations.downgrade(engine, "0001")  # kepler_0001 depends on 0002: both go
        assert migrations.current(engine) == ("0001",)
        assert not KEPLER_TABLES & _engine_tables(engine)
        assert {"observation", "fits_frame"} <= _engine_tables(engine)

        migrations.upgrade(engine)
        assert _engine_tables(engine) == everything
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
