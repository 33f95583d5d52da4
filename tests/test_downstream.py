"""A mission from another package: the example ``lcdb-kepler-example`` in ``tests/downstream``.

The test command installs it next to lightcurvedb (``conftest.py`` refuses to run
without it). It
subclasses Observation, FITSFrame and QualityFlagArray, registers the entry
point ``kepler`` in ``lightcurvedb.missions`` and ships the Alembic branch
``lcdb_kepler``; here it is discovered, migrated, written and queried
polymorphically on SQLite and PostgreSQL.
"""

from __future__ import annotations

import importlib.metadata
import os
import pathlib
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from lcdb_kepler import mission as kepler
from lcdb_kepler.factories import KeplerObservationFactory, KeplerQualityFlagArrayFactory
from lcdb_kepler.mission import (
    KEPLER_QUALITY_BITS,
    KeplerFFIFrame,
    KeplerObservation,
    KeplerQualityFlagArray,
)
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import lightcurvedb
from lightcurvedb import migrations
from lightcurvedb.core.column_rules import ColumnValueError
from lightcurvedb.missions import registry
from lightcurvedb.missions.tess import TESSObservation, tess_ccd
from lightcurvedb.models import FITSFrame, Observation, QualityFlagArray, UnknownQualityBitError
from lightcurvedb.testing import factories

DOWNSTREAM = pathlib.Path(__file__).resolve().parent / "downstream"
KEPLER_TABLES = {"kepler_observation", "kepler_ffi_frame"}


# -- discovery ------------------------------------------------------------------------------

def test_installed_as_a_distribution_with_the_entry_point():
    dist = importlib.metadata.distribution("lcdb-kepler-example")
    points = {(e.group, e.name, e.value) for e in dist.entry_points}
    assert ("lightcurvedb.missions", "kepler", "lcdb_kepler.mission") in points
    # The installed copy is imported, not the source tree under tests/.
    assert DOWNSTREAM not in pathlib.Path(kepler.__file__).resolve().parents


def test_plugin_is_discovered_through_its_entry_point():
    plugins = registry.load_plugins()
    assert plugins["kepler"] is kepler


def test_plugin_tables_join_the_one_metadata():
    assert KEPLER_TABLES <= set(lightcurvedb.metadata.tables)
    table = lightcurvedb.metadata.tables["kepler_observation"]
    names = {c.name for c in (*table.constraints, *table.indexes)}
    # lightcurvedb's naming convention names the plugin's constraints too.
    assert {"pk_kepler_observation", "fk_kepler_observation_id_observation",
            "ck_kepler_observation_quarter_range", "ix_kepler_observation_quarter"} <= names


def test_plugin_migrations_are_a_version_location():
    locations = [path.resolve() for path in registry.plugin_version_locations()]
    assert kepler.ALEMBIC_VERSIONS.resolve() in locations
    # The revisions were installed with the package (package data), not found in tests/.
    assert any(kepler.ALEMBIC_VERSIONS.glob("kepler_0001_*.py"))
    config = migrations.alembic_config()
    assert str(kepler.ALEMBIC_VERSIONS) in config.get_main_option("version_locations")


def _heads() -> list[str]:
    """The expected heads: lightcurvedb's own and the plugin branch's, sorted."""
    script = ScriptDirectory.from_config(migrations.alembic_config())
    return sorted([script.get_revision("lightcurvedb@head").revision, "kepler_0001"])


def test_heads_include_the_plugin_branch():
    assert list(migrations.heads()) == _heads()


def test_broken_entry_point_is_a_plugin_error(monkeypatch):
    broken = importlib.metadata.EntryPoint(name="broken", value="lcdb_kepler.no_such_module",
                                           group=registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [broken])
    with pytest.raises(registry.PluginError, match=r"'broken' \(lcdb_kepler.no_such_module"):
        registry.load_plugins()


def test_alembic_versions_that_is_no_directory_is_a_plugin_error(monkeypatch, tmp_path):
    (tmp_path / "lcdb_test_bad_versions.py").write_text(
        f"ALEMBIC_VERSIONS = {str(tmp_path / 'missing')!r}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    point = importlib.metadata.EntryPoint(name="bad", value="lcdb_test_bad_versions",
                                          group=registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [point])
    with pytest.raises(registry.PluginError, match="'bad': ALEMBIC_VERSIONS .* not a directory"):
        registry.plugin_version_locations()


# -- writing and querying (SQLite and PostgreSQL) ------------------------------------------

@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    """Record the SQL statements ``session`` sends to the database."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(connection, "before_cursor_execute", record)


def _write_observations(session: Session, n: int) -> list[int]:
    """Write ``n`` observations: Kepler, TESS and base ones in turn."""
    kepler.ensure_kepler_mission(session)
    tess = tess_ccd(session, 1, 1)
    plain = factories.InstrumentFactory()
    rows: list[Observation] = []
    for i in range(n):
        if i % 3 == 0:
            module, output = kepler.CCD_MODULES[i % 21], i % 4 + 1
            rows.append(KeplerObservationFactory(
                quarter=i % 18, season=i % 4, ccd_module=module, ccd_output=output,
                instrument=kepler.kepler_output(session, module, output)))
        else:
            row = (TESSObservation(sector=i + 1, cadence_seconds=120, instrument=tess)
                   if i % 3 == 1 else Observation(instrument=plain))
            session.add(row)
            rows.append(row)
    session.flush()
    return [row.id for row in rows]


def _load_and_touch(session: Session, ids: list[int]) -> tuple[list[Observation], int]:
    """Load ``ids`` with ``select(Observation)``, read the subclass columns; count statements."""
    session.expunge_all()
    with statements(session) as sent:
        loaded = session.scalars(select(Observation).where(Observation.id.in_(ids))
                                 .order_by(Observation.id)).all()
        for obs in loaded:
            if isinstance(obs, KeplerObservation):
                assert (obs.quarter, obs.season, obs.cadence_type) is not None
                assert 1 <= obs.channel <= 84
            elif isinstance(obs, TESSObservation):
                assert obs.sector > 0 and obs.cadence_seconds == 120
    return loaded, len(sent)


def test_select_observation_returns_the_subclasses(session):
    ids = _write_observations(session, 3)
    loaded, _ = _load_and_touch(session, ids)
    assert [type(obs) for obs in loaded] == [KeplerObservation, TESSObservation, Observation]
    first = loaded[0]
    assert (first.quarter, first.season, first.ccd_module, first.ccd_output) == (0, 0, 2, 1)
    assert first.channel == 1 and first.cadence_type == "long"
    assert first.type == "kepler_observation"


def test_subclass_columns_load_without_a_query_per_row(session):
    """``polymorphic_load="selectin"``: one statement per subclass, however many rows."""
    few = _write_observations(session, 3)
    _, few_statements = _load_and_touch(session, few)
    many = few + _write_observations(session, 27)
    loaded, many_statements = _load_and_touch(session, many)
    assert Counter(type(obs).__name__ for obs in loaded) == {
        "KeplerObservation": 10, "TESSObservation": 10, "Observation": 10}
    # The base query plus one for the Kepler and one for the TESS rows.
    assert few_statements == many_statements <= 3


def test_kepler_rows_are_checked_by_the_database(session):
    instrument = factories.InstrumentFactory()
    good = KeplerObservation(instrument=instrument, quarter=1, season=3, ccd_module=2,
                             ccd_output=1)
    session.add(good)
    session.flush()
    table = KeplerObservation.__table__
    for bad in ({"quarter": 18}, {"season": 4}, {"ccd_module": 5}, {"ccd_output": 0},
                {"cadence_type": "fast"}):
        values = {"quarter": 1, "season": 3, "ccd_module": 2, "ccd_output": 1, **bad}
        (key, value), = bad.items()
        # The ORM refuses it before the flush, from the downstream table's own CHECKs ...
        with pytest.raises(ColumnValueError, match=rf"^KeplerObservation\.{key} = "
                                                   rf"{value!r}: "), session.begin_nested():
            session.add(KeplerObservation(instrument=instrument, **values))
            session.flush()
        # ... and the database still refuses it from a statement built by hand.
        with pytest.raises(IntegrityError), session.begin_nested():
            session.execute(sa.update(table).where(table.c.id == good.id).values(**bad))


def test_deleting_an_observation_removes_its_kepler_row(session):
    obs = KeplerObservationFactory()
    obs_id = obs.id
    session.delete(obs)
    session.flush()
    count = session.scalar(sa.text("SELECT count(*) FROM kepler_observation WHERE id = :id"),
                           {"id": obs_id})
    assert count == 0


def test_ffi_frames_are_polymorphic_too(session):
    obs = KeplerObservationFactory(quarter=5)
    frame = KeplerFFIFrame(observation=obs, cadence=123_456, bitpix=-32, naxis=2,
                           naxis_values=np.array([1132, 1070], dtype=np.int32),
                           file_path=pathlib.Path("/data/kepler/kplr2009170043915_ffi-cal.fits"),
                           quarter=5, start_bkjd=170.0, end_bkjd=170.02)
    session.add(frame)
    session.flush()
    session.expunge_all()
    (loaded,) = session.scalars(select(FITSFrame).where(FITSFrame.id == frame.id)).all()
    assert type(loaded) is KeplerFFIFrame
    assert (loaded.quarter, loaded.start_bkjd, loaded.quality) == (5, 170.0, 0)


def test_quality_flags_name_the_kepler_bits(session):
    words = np.array([0, 1, 32, 32 | 256, 512, 16384], dtype=np.int64)
    flags = KeplerQualityFlagArrayFactory(quality_flags=words)
    session.expunge_all()
    loaded = session.scalars(select(QualityFlagArray)
                             .where(QualityFlagArray.id == flags.id)).one()
    assert type(loaded) is KeplerQualityFlagArray
    assert type(loaded.observation) is KeplerObservation
    np.testing.assert_array_equal(loaded.quality_flags, words)
    np.testing.assert_array_equal(loaded.mask("desaturation"),
                                  [False, False, True, True, False, False])
    np.testing.assert_array_equal(loaded.mask("attitude_tweak", "manual_exclude"),
                                  [False, True, False, True, False, False])
    np.testing.assert_array_equal(loaded.hard_mask(), [False, True, True, True, False, True])
    assert loaded.decode() == [(), ("attitude_tweak",), ("desaturation",),
                               ("desaturation", "manual_exclude"), ("bit_512",),
                               ("detector_anomaly",)]
    with pytest.raises(UnknownQualityBitError, match="zero_crossing"):
        loaded.mask("stray_light")  # a TESS bit: the message lists Kepler's names
    assert KEPLER_QUALITY_BITS.hard_value == 1130799  # the archive's default bitmask


def test_ensure_kepler_mission_is_idempotent(session):
    mission, catalog = kepler.ensure_kepler_mission(session)
    assert kepler.ensure_kepler_mission(session) == (mission, catalog)
    assert catalog.name == "KIC" and catalog.host_mission is mission
    assert mission.to_time(0.0).jd == pytest.approx(2454833.0)
    node = kepler.kepler_output(session, 24, 4)
    assert (node.name, node.parent.name, node.parent.parent.name) == (
        "Output 4", "Module 24", "Kepler")
    assert kepler.kepler_output(session, 24, 4) is node
    assert kepler.channel(24, 4) == 84
    with pytest.raises(ValueError, match="not module 5 output 1"):
        kepler.kepler_output(session, 5, 1)


def test_factories_bind_with_lightcurvedbs_own(session):
    lc = factories.DataSetFactory(observation=KeplerObservationFactory(quarter=9))
    session.expunge_all()
    loaded = session.get(type(lc), lc.id)
    assert type(loaded.observation) is KeplerObservation
    assert loaded.observation.quarter == 9


# -- the command line ----------------------------------------------------------------------

def _lcdb(tmp_path: pathlib.Path, *args: str) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LIGHTCURVEDB_")}
    environ.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
                   XDG_DATA_HOME=str(tmp_path / "data"))
    result = subprocess.run([sys.executable, "-m", "lightcurvedb", *args], env=environ,
                            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_lcdb_db_upgrade_applies_the_plugin_branch(tmp_path):
    database = tmp_path / "kepler.sqlite3"
    url = f"sqlite:///{database}"
    upgraded = _lcdb(tmp_path, "--url", url, "db", "upgrade")
    assert upgraded.splitlines()[0].endswith(f"is at: {', '.join(_heads())}")
    # Both branches show, although alembic_version stores only kepler_0001 (it implies 0002);
    # the last line names the optional extensions in use.
    assert _lcdb(tmp_path, "--url", url, "db", "current").splitlines()[:-1] == _heads()
    assert _lcdb(tmp_path, "--url", url, "db", "heads").split() == _heads()
    engine = sa.create_engine(url)
    try:
        assert KEPLER_TABLES <= set(sa.inspect(engine).get_table_names())
        engine.dispose()

        _lcdb(tmp_path, "--url", url, "db", "downgrade", "base")
        assert _lcdb(tmp_path, "--url", url, "db", "current").splitlines()[0] == "(empty)"
        assert set(sa.inspect(engine).get_table_names()) == {"alembic_version"}
    finally:
        engine.dispose()
