"""Migration 0010: targets gain a sky position and aliases; existing targets survive both ways.

A database at 0009 is filled with targets through SQL (the 0009 schema),
upgraded, compared row by row and with the models (no drift), given
positions and aliases, and downgraded again, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from lightcurvedb import connect, migrations

BOTH = pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)
NEW_COLUMNS = {"ra", "dec", "epoch", "pm_ra", "pm_dec", "magnitude", "magnitude_band"}


def _seed_0009(engine) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO mission (id, name, description, time_unit, time_epoch, "
            "time_epoch_scale, time_epoch_format, time_format_name) VALUES "
            "(:id, 'TESS', '', 'day', 2457000, 'tdb', 'jd', 'btjd')"),
            {"id": "00000000-0000-0000-0000-000000000001"})
        connection.execute(sa.text(
            "INSERT INTO mission_catalog (id, host_mission_id, name, description) "
            "VALUES (1, :m, 'TIC', '')"), {"m": "00000000-0000-0000-0000-000000000001"})
        connection.execute(sa.text(
            "INSERT INTO target (id, catalog_id, name, designation) VALUES "
            "(1, 1, 261136679, NULL), (2, 1, 25155310, 'x')"))


def _targets(engine) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(
            "SELECT id, catalog_id, name, designation FROM target ORDER BY id"))]


def _columns(engine, table: str) -> set[str]:
    with engine.connect() as connection:
        inspector = sa.inspect(connection)
        if not inspector.has_table(table):
            return set()
        return {column["name"] for column in inspector.get_columns(table)}


@BOTH
def test_upgrade_and_downgrade_keep_every_target(empty_database_url):
    engine = connect(empty_database_url)
    try:
        migrations.upgrade(engine, "0009")
        _seed_0009(engine)
        before = _targets(engine)
        assert not NEW_COLUMNS & _columns(engine, "target")

        migrations.upgrade(engine)
        assert _targets(engine) == before
        assert NEW_COLUMNS <= _columns(engine, "target")
        with engine.connect() as connection:
            options = migrations.context_options(connection)
            assert compare_metadata(MigrationContext.configure(connection, opts=options),
                                    options["target_metadata"]) == []
            assert connection.execute(sa.text(
                "SELECT count(*) FROM target WHERE ra IS NULL AND dec IS NULL AND "
                "magnitude IS NULL")).scalar() == 2
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE target SET ra = 84.29, dec = -80.47, "
                                       "magnitude = 5.1 WHERE id = 1"))
            connection.execute(sa.text("INSERT INTO target_alias (id, target_id, catalog, name) "
                                       "VALUES (1, 1, 'Gaia DR3', '4623036143454223744')"))
        with pytest.raises(sa.exc.IntegrityError):          # the new CHECK is enforced
            with engine.begin() as connection:
                connection.execute(sa.text("UPDATE target SET dec = 95 WHERE id = 2"))

        migrations.downgrade(engine, "0009")
        assert _targets(engine) == before
        assert not NEW_COLUMNS & _columns(engine, "target")
        assert _columns(engine, "target_alias") == set()
        migrations.upgrade(engine)                          # and up again
        assert _targets(engine) == before
    finally:
        engine.dispose()
