"""Migration 0009: frames learn their detector; existing frames and their mission rows survive.

On SQLite the migration rebuilds ``fits_frame``; with foreign keys enforced a
careless rebuild would delete every mission frame row through ``ON DELETE
CASCADE``. These tests fill a database at 0008 with frames and mission rows
(through SQL, as the 0008 schema was), upgrade, and compare every row.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from lightcurvedb import connect, migrations
from lightcurvedb.core.types import NumpyArray, PathType

BOTH = pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)

INSTRUMENT = sa.table("instrument", sa.column("id", sa.Uuid()), sa.column("name", sa.String()),
                      sa.column("properties", sa.JSON()), sa.column("parent_id", sa.Uuid()))
OBSERVATION = sa.table("observation", sa.column("id", sa.Integer()),
                       sa.column("type", sa.String()), sa.column("instrument_id", sa.Uuid()))
FRAME_COLUMNS = ("id", "type", "cadence", "observation_id", "simple", "bitpix", "naxis",
                 "extended", "bscale", "bzero")


def _frame_table(*extra: sa.ColumnClause) -> sa.TableClause:
    return sa.table("fits_frame", *(sa.column(c) for c in FRAME_COLUMNS),
                    sa.column("naxis_values", NumpyArray("int32")),
                    sa.column("file_path", PathType()), *extra)


FRAME = _frame_table()
HST_FRAME = sa.table("hst_frame", sa.column("id"), sa.column("rootname"),
                     sa.column("exposure_start_mjd"), sa.column("exposure_time"),
                     sa.column("filter_name"))


def _seed_0008(engine) -> dict[str, uuid.UUID]:
    uvis, ifu = uuid.uuid4(), uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(sa.insert(INSTRUMENT), [
            {"id": uvis, "name": "UVIS", "properties": {}, "parent_id": None},
            {"id": ifu, "name": "IFU", "properties": {}, "parent_id": None}])
        connection.execute(sa.insert(OBSERVATION), [
            {"id": 1, "type": "observation", "instrument_id": uvis},
            {"id": 2, "type": "observation", "instrument_id": ifu}])
        frames = [
            {"id": i, "type": kind, "cadence": cadence, "observation_id": obs, "simple": True,
             "bitpix": -32, "naxis": 2, "extended": True, "bscale": 1.0, "bzero": 0.0,
             "naxis_values": np.array([64, 128], dtype=np.int32),
             "file_path": f"/data/rbh1/f{i}.fits"}
            for i, kind, cadence, obs in ((1, "hst_flc", 100, 1), (2, "hst_drc", 100, 1),
                                          (3, "hst_flc", 200, 1), (4, "basefits", 100, 2))]
        connection.execute(sa.insert(FRAME), frames)
        connection.execute(sa.insert(HST_FRAME), [
            {"id": i, "rootname": f"iexo01a{i}q", "exposure_start_mjd": 60150.1,
             "exposure_time": 1200.0, "filter_name": "F350LP"} for i in (1, 2, 3)])
    return {"uvis": uvis, "ifu": ifu}


def _rows(engine, table: str, order: str = "id") -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            sa.text(f"SELECT * FROM {table} ORDER BY {order}"))]


def _frames(engine) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(
            "SELECT id, type, cadence, observation_id, file_path FROM fits_frame ORDER BY id"))]


@BOTH
def test_upgrade_keeps_every_frame_and_mission_row(empty_database_url):
    engine = connect(empty_database_url)
    try:
        migrations.upgrade(engine, "0008")
        nodes = _seed_0008(engine)
        frames, hst = _frames(engine), _rows(engine, "hst_frame")
        assert len(frames) == 4 and len(hst) == 3

        migrations.upgrade(engine)
        assert _frames(engine) == frames and _rows(engine, "hst_frame") == hst
        with engine.connect() as connection:
            detectors = dict(connection.execute(sa.text(
                "SELECT id, instrument_id FROM fits_frame ORDER BY id")).all())
            options = migrations.context_options(connection)
            assert compare_metadata(MigrationContext.configure(connection, opts=options),
                                    options["target_metadata"]) == []
        as_uuid = {k: uuid.UUID(str(v)) for k, v in detectors.items()}
        assert as_uuid == {1: nodes["uvis"], 2: nodes["uvis"], 3: nodes["uvis"],
                           4: nodes["ifu"]}
        # the mission rows still cascade from their frame
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM fits_frame WHERE id = 3"))
        assert [row[0] for row in _rows(engine, "hst_frame")] == [1, 2]
    finally:
        engine.dispose()


@BOTH
def test_downgrade_refuses_frames_of_two_detectors_at_one_cadence(empty_database_url):
    engine = connect(empty_database_url)
    try:
        migrations.upgrade(engine, "0008")
        nodes = _seed_0008(engine)
        migrations.upgrade(engine)
        pair = {"id": 5, "type": "hst_flc", "cadence": 100, "observation_id": 2, "simple": True,
                "bitpix": -32, "naxis": 2, "extended": True, "bscale": 1.0, "bzero": 0.0,
                "naxis_values": np.array([64, 128], dtype=np.int32),
                "file_path": "/data/rbh1/f5.fits"}
        table = _frame_table(sa.column("instrument_id", sa.Uuid()))
        with engine.begin() as connection:   # another detector, same type and cadence
            connection.execute(sa.insert(table), {**pair, "instrument_id": nodes["ifu"]})
        with pytest.raises(RuntimeError, match=r"cannot downgrade below 0009: 1 \(type, "
                                               r"cadence\) pair\(s\) .* hst_flc at cadence 100"):
            migrations.downgrade(engine, "0008")
        assert len(_frames(engine)) == 5           # nothing was changed
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM fits_frame WHERE id = 5"))
        before = _frames(engine), _rows(engine, "hst_frame")
        migrations.downgrade(engine, "0008")
        assert (_frames(engine), _rows(engine, "hst_frame")) == before
        with engine.connect() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("fits_frame")}
        assert "instrument_id" not in columns
        with pytest.raises(sa.exc.IntegrityError):   # the old key is back
            with engine.begin() as connection:
                connection.execute(sa.insert(FRAME), pair)
    finally:
        engine.dispose()
