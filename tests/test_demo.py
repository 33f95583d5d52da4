"""The demo TESS mission: content, idempotency and time handling, on both backends."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lightcurvedb.demo import DEMO_TARGETS, DemoSummary, build_demo
from lightcurvedb.loaders.tess import FLUX_UNIT, PDC_METHOD, SAP_SOURCE
from lightcurvedb.missions.tess import (
    TESS_QUALITY_BITS,
    TESSObservation,
    TESSQualityFlagArray,
    tess_ccd,
)
from lightcurvedb.models import (
    DataSet,
    DataSetHierarchy,
    Instrument,
    Mission,
    MissionCatalog,
    Observation,
    PhotometricSource,
    ProcessingMethod,
    QualityFlagArray,
    Target,
    TargetSpecificTime,
)

# Straight from the brief: 1 mission, 1 catalog, 5 targets, TESS > 4 cameras > 4 CCDs
# (1 + 4 + 16 = 21 instruments), 2 sectors, and per target per sector one time
# array, one SAP and one PDCSAP light curve, one lineage edge and one flag array.
EXPECTED = {
    "mission": 1, "mission_catalog": 1, "target": 5, "instrument": 21, "observation": 2,
    "photometric_source": 1, "processing_method": 1, "target_specific_time": 10,
    "dataset": 20, "dataset_hierarchy": 10, "quality_flag_array": 10,
}
TIC_IDS = {261136679, 25155310, 307210830, 220479565, 149603524}
MODELS = (Mission, MissionCatalog, Target, Instrument, Observation, PhotometricSource,
          ProcessingMethod, TargetSpecificTime, DataSet, DataSetHierarchy, QualityFlagArray)
TESS_BITS = 1 | 4 | 32 | 128
N_CADENCES = 1000


def _counts(session: Session) -> dict[str, int]:
    return {m.__tablename__: session.scalar(select(func.count()).select_from(m)) for m in MODELS}


def _ids(session: Session) -> dict[str, set]:
    return {m.__tablename__: set(session.scalars(select(m.id))) for m in MODELS}


@pytest.fixture
def demo(session: Session) -> DemoSummary:
    summary = build_demo(session)
    session.flush()
    session.expunge_all()  # later lookups really go to the database
    return summary


def _sector_observations(session: Session) -> dict[int, Observation]:
    """Map sector number -> observation, using the first cadence numbers of the brief."""
    observations = session.scalars(select(Observation)).all()
    by_first = {int(o.cadence_reference[0]): o for o in observations}
    sector1 = by_first.pop(70445)
    (sector2,) = by_first.values()
    return {1: sector1, 2: sector2}


def test_counts_match_the_design(session, demo):
    assert _counts(session) == EXPECTED
    assert demo.counts == EXPECTED
    assert demo.created == EXPECTED
    assert demo.created_anything


def test_second_run_creates_nothing(session, demo):
    before_counts, before_ids = _counts(session), _ids(session)
    again = build_demo(session)
    session.flush()
    assert not again.created_anything
    assert set(again.created.values()) == {0}
    assert again.counts == EXPECTED
    assert _counts(session) == before_counts
    assert _ids(session) == before_ids
    assert again.rows == demo.rows


def test_existing_rows_are_reused_and_lookalikes_are_not(session):
    session.add(Mission(name="TESS", time_unit="d", time_epoch=2457000, time_epoch_scale="tdb",
                        time_epoch_format="jd", time_format_name="btjd"))
    session.add(Instrument(name="CCD 1"))  # a root "CCD 1" is not TESS > Camera 1 > CCD 1
    session.flush()
    summary = build_demo(session)
    assert summary.created["mission"] == 0
    assert summary.created["instrument"] == 21
    assert summary.counts["instrument"] == 22


def test_mission_catalog_and_targets(session, demo):
    mission = session.scalars(select(Mission)).one()
    assert (mission.name, mission.time_unit, mission.time_epoch, mission.time_epoch_scale,
            mission.time_epoch_format, mission.time_format_name) == \
        ("TESS", "d", 2457000, "tdb", "jd", "btjd")
    catalog = session.scalars(select(MissionCatalog)).one()
    assert catalog.name == "TIC"
    assert catalog.host_mission is mission
    assert {t.name for t in catalog.targets} == TIC_IDS


def test_instrument_tree(session, demo):
    root = session.scalars(select(Instrument).where(Instrument.parent_id.is_(None))).one()
    assert root.name == "TESS"
    assert [c.name for c in root.children] == [f"Camera {i}" for i in range(1, 5)]
    for camera in root.children:
        assert [c.name for c in camera.children] == [f"CCD {i}" for i in range(1, 5)]
    assert len(list(root.walk())) == 21
    for observation in _sector_observations(session).values():
        assert observation.instrument.path.startswith("TESS > Camera ")
        assert observation.instrument.name.startswith("CCD ")


def test_cadences_are_two_minutes_with_a_downlink_gap(session, demo):
    for observation in _sector_observations(session).values():
        cadences = observation.cadence_reference
        assert isinstance(cadences, np.ndarray) and cadences.dtype == np.int64
        assert len(cadences) == N_CADENCES
        steps = np.diff(cadences)
        assert (steps >= 1).all()
        assert (steps == 1).sum() == N_CADENCES - 2  # one gap
        assert 600 <= steps.max() <= 900  # ~1 day of 2-minute cadences


def test_light_curves_and_lineage(session, demo):
    sap = session.scalars(select(PhotometricSource)).one()
    pdc = session.scalars(select(ProcessingMethod)).one()
    assert (sap.name, sap.description) == SAP_SOURCE  # as the TESS loader names them
    assert (pdc.name, pdc.description) == PDC_METHOD
    observations = _sector_observations(session)
    for sector, observation in observations.items():
        for target in observation.targets:
            curves = [d for d in target.datasets if d.observation is observation]
            raw = [d for d in curves if d.processing_method is None]
            processed = [d for d in curves if d.processing_method is pdc]
            assert len(raw) == len(processed) == 1, (target.name, sector)
            raw, processed = raw[0], processed[0]
            assert raw.photometry_source is sap and processed.photometry_source is sap
            assert raw.unit == processed.unit == FLUX_UNIT
            assert processed.source_datasets == [raw]
            assert raw.derived_datasets == [processed]
            assert raw.source_datasets == []
            flags = session.scalars(select(QualityFlagArray).filter_by(
                observation=observation, target=target)).one().quality_flags
            for array in (raw.values, raw.errors, processed.values, processed.errors, flags):
                assert isinstance(array, np.ndarray) and len(array) == N_CADENCES
            assert raw.values.dtype == np.float64 and flags.dtype == np.int64
            assert np.isfinite(raw.values).all() and np.isfinite(raw.errors).all()
            assert 0 < np.count_nonzero(flags) < 50
            assert (flags & ~TESS_BITS == 0).all()
            nan = np.isnan(processed.values)
            assert nan.sum() < 20 and (flags[nan] != 0).all()  # NaN only where flagged
            level = DEMO_TARGETS[target.name][1]  # e-/s, trend removed
            assert abs(np.nanmedian(processed.values) / level - 1.0) < 0.002
            assert np.nanmedian(raw.values) > 1000  # electrons per second
            dip = np.nanmin(processed.values) / np.nanmedian(processed.values)
            assert dip < 0.992 if target.name == 25155310 else dip > 0.993


def test_barycentric_times(session, demo):
    mission = session.scalars(select(Mission)).one()
    sector1 = _sector_observations(session)[1]
    start = mission.to_time(1325.29)
    assert start.scale == "tdb"
    assert start.jd == pytest.approx(2458325.29, abs=1e-9)
    firsts = []
    for tst in sector1.target_specific_times:
        bjd = tst.barycentric_julian_dates
        assert isinstance(bjd, np.ndarray) and len(bjd) == N_CADENCES
        assert abs(bjd[0] - start.jd) < 0.01  # a few minutes of barycentric offset
        assert np.median(np.diff(bjd)) == pytest.approx(2 / 1440, rel=1e-3)
        btjd = mission.from_time(tst.to_time())
        np.testing.assert_allclose(btjd, bjd - 2457000, rtol=0, atol=1e-8)
        np.testing.assert_allclose(mission.to_time(btjd).jd, bjd, rtol=0, atol=1e-8)
        firsts.append(bjd[0])
    assert len(firsts) == 5 and len(set(firsts)) == 5  # each target has its own offset


def test_summary_rows_and_render(session, demo):
    assert len(demo.rows) == 10
    assert {(r.tic_id, r.sector) for r in demo.rows} == {(t, s) for t in TIC_IDS for s in (1, 2)}
    assert {r.lineage for r in demo.rows} == {"SAP -> PDCSAP"}
    assert {r.n_cadences for r in demo.rows} == {N_CADENCES}
    assert all(r.n_flagged > 0 and r.raw_median > 1000 for r in demo.rows)
    text = demo.render()
    assert demo.url in text
    assert demo.url == session.get_bind().engine.url.render_as_string(hide_password=True)
    for table, count in EXPECTED.items():
        assert any(line.split() == [table, str(count)] for line in text.splitlines()), table
    assert "25155310" in text and "SAP -> PDCSAP" in text


def test_mission_subclasses_and_units(session, demo):
    observations = session.scalars(select(Observation).order_by(Observation.id)).all()
    assert [type(o) for o in observations] == [TESSObservation, TESSObservation]
    assert [(o.sector, o.cadence_seconds, o.orbit_number) for o in observations] == \
        [(1, 120, None), (2, 120, None)]
    assert [(o.camera, o.ccd) for o in observations] == [(1, 1), (2, 3)]
    arrays = session.scalars(select(QualityFlagArray)).all()
    assert len(arrays) == 10
    desaturation = TESS_QUALITY_BITS.value("desaturation")
    for flags in arrays:
        assert isinstance(flags, TESSQualityFlagArray) and flags.type == "tess_quality_flag"
        mask = flags.mask("desaturation")
        np.testing.assert_array_equal(mask, (flags.quality_flags & desaturation) != 0)
        assert mask.sum() == 3
    pdc = session.scalars(select(ProcessingMethod)).one()
    pdcsap = session.scalars(select(DataSet).filter_by(processing_method=pdc).limit(1)).one()
    series = pdcsap.to_timeseries()
    assert str(series["flux"].unit) == "electron / s" and len(series) == N_CADENCES


def test_summary_names_the_quality_bits(demo):
    line = demo.render().splitlines()[-1]
    for name in ("attitude_tweak", "coarse_point", "desaturation", "manual_exclude"):
        assert f"{name} ({TESS_QUALITY_BITS.value(name)})" in line


def test_a_foreign_observation_is_not_reused(session):
    session.add(TESSObservation(instrument=tess_ccd(session, 1, 1), sector=1, cadence_seconds=120,
                                cadence_reference=np.arange(5, dtype=np.int64)))
    session.flush()
    with pytest.raises(ValueError, match="not the demo's"):
        build_demo(session)
