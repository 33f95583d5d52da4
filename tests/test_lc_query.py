"""lightcurvedb.lightcurves(): filters, metadata, arrays and the number of statements.

Every light curve the API returns is compared with the rows read another way
(the ORM, and lightcurvedb.bulk.read_arrays of each table), on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import lightcurvedb
from lc_support import selects, tess_curve, tess_observation
from lightcurvedb.bulk import read_arrays
from lightcurvedb.demo import build_demo
from lightcurvedb.lc import LightCurve, LightCurveCollection, select_ids
from lightcurvedb.missions.tess import TESSObservation
from lightcurvedb.models import (
    DataSet,
    Mission,
    MissionCatalog,
    Observation,
    QualityFlagArray,
    Target,
    TargetSpecificTime,
)


@pytest.fixture
def demo(session: Session):
    build_demo(session)
    session.flush()
    session.expunge_all()       # the API's statements really go to the database


def all_datasets(session: Session) -> list[DataSet]:
    return list(session.scalars(select(DataSet).order_by(DataSet.id)))


def test_every_light_curve_with_its_rows(session, demo):
    curves = lightcurvedb.lightcurves(session)
    stored = read_arrays(session, DataSet, ["values", "errors"])
    times = {(t.target_id, t.observation_id): t.barycentric_julian_dates
             for t in session.scalars(select(TargetSpecificTime))}
    flags = {(q.target_id, q.observation_id): q.quality_flags
             for q in session.scalars(select(QualityFlagArray))}
    cadences = read_arrays(session, Observation, "cadence_reference")
    assert isinstance(curves, LightCurveCollection)
    assert sorted(lc.id for lc in curves) == sorted(stored)
    for lc in curves:
        ds = session.get(DataSet, lc.id)
        key = (ds.target_id, ds.observation_id)
        assert isinstance(lc, LightCurve) and lc.dataset.values is lc.values
        np.testing.assert_array_equal(lc.values, stored[lc.id]["values"])
        np.testing.assert_array_equal(lc.errors, stored[lc.id]["errors"])
        # BTJD = BJD - 2457000, in TDB (the TESS mission's time system)
        np.testing.assert_allclose(lc.times, times[key] - 2457000.0, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(lc.quality, flags[key])
        np.testing.assert_array_equal(lc.cadenceno, cadences[ds.observation_id])
        observation = session.get(TESSObservation, ds.observation_id)
        assert lc.observation_meta["sector"] == observation.sector
        assert (lc.observation_meta["camera"], lc.observation_meta["ccd"]) == \
            (observation.camera, observation.ccd)
        assert lc.target.name == ds.target.name and lc.mission.name == "TESS"
        assert lc.photometry == ds.photometry_source.name
        assert lc.processing == (ds.processing_method.name if ds.processing_method else None)
        assert lc.source_ids == tuple(sorted(s.id for s in ds.source_datasets))
        assert lc.derived_ids == tuple(sorted(d.id for d in ds.derived_datasets))
    # ordered by catalog number, observation, id
    keys = [(lc.target.name, lc.observation.id, lc.id) for lc in curves]
    assert keys == sorted(keys)


def _ids(collection) -> set[int]:
    return {lc.id for lc in collection}


def test_filters_select_what_the_orm_selects(session, demo):
    datasets = all_datasets(session)
    tic = 25155310
    by_tic = {d.id for d in datasets if d.target.name == tic}
    assert _ids(lightcurvedb.lightcurves(session, tic=tic)) == by_tic
    assert _ids(lightcurvedb.lightcurves(session, target=tic, catalog="TIC")) == by_tic
    target = session.scalars(select(Target).where(Target.name == tic)).one()
    assert _ids(lightcurvedb.lightcurves(session, target=target)) == by_tic
    sector2 = {d.id for d in datasets if d.observation.sector == 2}
    assert _ids(lightcurvedb.lightcurves(session, sector=2)) == sector2
    assert _ids(lightcurvedb.lightcurves(session, sector=[1, 2])) == {d.id for d in datasets}
    pdc = {d.id for d in datasets if d.processing_method is not None}
    assert _ids(lightcurvedb.lightcurves(session, processing="PDC")) == pdc
    raw = {d.id for d in datasets if d.processing_method is None}
    assert _ids(lightcurvedb.lightcurves(session, processing="raw")) == raw
    assert _ids(lightcurvedb.lightcurves(session, processing=["raw", "PDC"])) == raw | pdc
    assert _ids(lightcurvedb.lightcurves(session, photometry="SPOC aperture")) == raw | pdc
    assert _ids(lightcurvedb.lightcurves(session, photometry="elsewhere")) == set()
    mission = session.scalars(select(Mission)).one()
    assert _ids(lightcurvedb.lightcurves(session, mission=mission)) == raw | pdc
    assert _ids(lightcurvedb.lightcurves(session, mission="HST")) == set()
    catalog = session.scalars(select(MissionCatalog)).one()
    assert _ids(lightcurvedb.lightcurves(session, catalog=catalog, tic=None)) == raw | pdc
    observation = datasets[0].observation
    assert _ids(lightcurvedb.lightcurves(session, observation=observation)) == \
        {d.id for d in datasets if d.observation_id == observation.id}
    assert _ids(lightcurvedb.lightcurves(
        session, tic=tic, sector=1, processing="PDC",
        observation_filter={"cadence_seconds": 120})) == \
        {d.id for d in datasets if d.target.name == tic and d.observation.sector == 1
         and d.processing_method is not None}
    assert _ids(lightcurvedb.lightcurves(session, observation_filter={"cadence_seconds": 20})) \
        == set()
    ids = set(session.scalars(select_ids(tic=tic, best=True)))
    assert ids == {d.id for d in datasets if d.target.name == tic and d.processing_method}


def test_bad_filters_are_refused(session, demo):
    with pytest.raises(ValueError, match="no observation class has an attribute 'quater'"):
        lightcurvedb.lightcurves(session, observation_filter={"quater": 3})
    with pytest.raises(ValueError, match="tic= .* or target=/catalog="):
        lightcurvedb.lightcurves(session, tic=1, target=2)


@pytest.mark.parametrize("filters", [{"tic": 25155310, "sector": 1, "processing": "PDC"}, {}],
                         ids=["one light curve", "all twenty"])
def test_three_selects_whatever_the_number(session, demo, filters):
    with selects(session) as seen:
        curves = lightcurvedb.lightcurves(session, **filters)
    assert len(curves) == (1 if filters else 20)
    # the rows; TESSObservation's columns (SQLAlchemy's selectin polymorphic load, once
    # per mission class); the arrays of every light curve in one bulk read
    assert len(seen) == 3, seen
    assert "FROM dataset JOIN target" in " ".join(seen[0].split())
    assert "tess_observation" in seen[1].split("FROM")[1]
    assert "barycentric_julian_dates" in seen[2] and "quality_flags" in seen[2]
    with selects(session) as later:
        for lc in curves:
            lc.to_timeseries(), lc.meta, lc.label, repr(lc), lc._repr_html_()
            lc.quality_mask("hard"), lc.masked()
        curves.to_table(), curves.summary(), str(curves), curves._repr_html_()
        curves[:1].align(to="observation")
    assert later == []


def test_best_costs_no_extra_statement(session, demo):
    with selects(session) as seen:
        best = lightcurvedb.lightcurves(session, best=True)
    assert len(best) == 10 and len(seen) == 3


def test_nothing_found_is_one_statement(session, demo):
    with selects(session) as seen:
        curves = lightcurvedb.lightcurves(session, tic=1)
    assert len(curves) == 0 and len(seen) == 1
    assert len(curves.to_table()) == 0 and repr(curves).startswith("LightCurveCollection(0 ")


def test_flags_of_the_target_before_observation_wide_ones(session):
    n = 6
    observation = tess_observation(session, 5, range(10, 10 + n))
    btjd = 1400.0 + np.arange(n) / 720
    own = tess_curve(session, observation, 1, np.ones(n), btjd=btjd,
                     quality=[0, 32, 0, 0, 0, 0])
    # an observation-wide array: the fallback of targets without their own
    tess_curve(session, observation, 2, np.ones(n), btjd=btjd, quality=[128, 0, 0, 0, 0, 1],
               flags_for_target=False)
    bare = tess_observation(session, 6, range(100, 100 + n))
    tess_curve(session, bare, 3, np.ones(n), btjd=btjd)
    session.expunge_all()
    curves = {lc.target.name: lc for lc in lightcurvedb.lightcurves(session, sector=[5, 6])}
    np.testing.assert_array_equal(curves[1].quality, [0, 32, 0, 0, 0, 0])
    np.testing.assert_array_equal(curves[2].quality, [128, 0, 0, 0, 0, 1])
    assert curves[3].quality is None and not curves[3].quality_mask("hardest").any()
    assert curves[1].id == own.id


def test_light_curves_without_times_or_with_ragged_arrays(session):
    observation = tess_observation(session, 7, range(5))
    tess_curve(session, observation, 11, np.arange(5.0))
    session.expunge_all()
    (lc,) = lightcurvedb.lightcurves(session, tic=11)
    assert lc.times is None
    with pytest.raises(ValueError, match="has no times"):
        lc.to_timeseries()
    observation = session.get(TESSObservation, observation.id)
    tess_curve(session, observation, 12, np.arange(4.0), btjd=np.arange(5.0))
    session.expunge_all()
    with pytest.raises(ValueError, match="4 values but 5 times"):
        lightcurvedb.lightcurves(session, tic=12)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_psycopg2_engines_read_the_same_light_curves(engine):
    """psycopg2 takes NumpyArray's array_send() path instead of binary cursors."""
    other = lightcurvedb.connect(engine.url.set(drivername="postgresql+psycopg2"))
    try:
        with other.connect() as connection, connection.begin() as transaction:
            with Session(bind=connection) as session:
                build_demo(session)
                session.flush()
                session.expunge_all()
                with selects(session) as seen:
                    curves = lightcurvedb.lightcurves(session, sector=2)
                stored = read_arrays(session, DataSet, ["values", "errors"])
                times = {(t.target_id, t.observation_id): t.barycentric_julian_dates
                         for t in session.scalars(select(TargetSpecificTime))}
                assert len(curves) == 10 and len(seen) == 3
                for lc in curves:
                    np.testing.assert_array_equal(lc.values, stored[lc.id]["values"])
                    np.testing.assert_array_equal(lc.errors, stored[lc.id]["errors"])
                    np.testing.assert_allclose(
                        lc.times, times[(lc.target.id, lc.observation.id)] - 2457000.0,
                        rtol=0, atol=1e-9)
                    assert lc.quality.dtype == np.int64 and lc.cadenceno.dtype == np.int64
            transaction.rollback()
    finally:
        other.dispose()
