"""Seed 004's constraints, cascades and relationships, on SQLite and PostgreSQL."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from lightcurvedb import models as m
from lightcurvedb.testing import factories as f


def _collides(session, make):
    """Flush ``make()`` in a savepoint; True if the database refused it as a duplicate."""
    try:
        with session.begin_nested():
            make()
            session.flush()
    except IntegrityError:
        return True
    return False


# -- unique constraints (seed 004, "Database Constraints" 1.) ------------------------------

def test_mission_name_and_time_format_are_unique(session):
    f.MissionFactory(name="TESS", time_format_name="btjd")
    assert _collides(session, lambda: f.MissionFactory(name="TESS"))
    assert _collides(session, lambda: f.MissionFactory(time_format_name="btjd"))


def test_catalog_photometric_source_and_processing_names_are_unique(session):
    f.MissionCatalogFactory(name="TIC")
    f.PhotometricSourceFactory(name="Aperture")
    f.ProcessingMethodFactory(name="PDC")
    assert _collides(session, lambda: f.MissionCatalogFactory(name="TIC"))
    assert _collides(session, lambda: f.PhotometricSourceFactory(name="Aperture"))
    assert _collides(session, lambda: f.ProcessingMethodFactory(name="PDC"))


def test_target_is_unique_per_catalog(session):
    tic, gaia = f.MissionCatalogFactory(), f.MissionCatalogFactory()
    f.TargetFactory(catalog=tic, name=261136679)
    assert not _collides(session, lambda: f.TargetFactory(catalog=gaia, name=261136679))
    assert _collides(session, lambda: f.TargetFactory(catalog=tic, name=261136679))


def test_fits_frame_is_unique_per_type_cadence_and_detector(session):
    first = f.FITSFrameFactory(cadence=70445)
    observation = first.observation
    assert first.instrument_id == observation.instrument_id     # the default detector
    # the seed's (type, cadence) rule, for frames of one detector
    assert _collides(session, lambda: f.FITSFrameFactory(observation=observation,
                                                         cadence=70445))
    assert not _collides(session, lambda: f.FITSFrameFactory(observation=observation,
                                                             cadence=70446))
    # another detector of the same observation exposing at the same time
    other = f.InstrumentFactory(parent=observation.instrument)
    assert not _collides(session, lambda: f.FITSFrameFactory(
        observation=observation, instrument=other, cadence=70445))
    assert _collides(session, lambda: f.FITSFrameFactory(
        observation=observation, instrument=other, cadence=70445))


def test_quality_flags_unique_per_type_observation_target(session):
    observation, target = f.ObservationFactory(), f.TargetFactory()
    f.QualityFlagArrayFactory(observation=observation, target=target)
    assert _collides(session, lambda: f.QualityFlagArrayFactory(observation=observation,
                                                                target=target))
    assert not _collides(session, lambda: f.QualityFlagArrayFactory(observation=observation,
                                                                    target=f.TargetFactory()))


def test_two_observation_wide_quality_flag_arrays_collide(session):
    # target_id NULL: SQL would normally treat the two NULLs as distinct.
    observation = f.ObservationFactory()
    f.QualityFlagArrayFactory(observation=observation, target=None)
    assert _collides(session, lambda: f.QualityFlagArrayFactory(observation=observation,
                                                                target=None))
    assert not _collides(session, lambda: f.QualityFlagArrayFactory(target=None))


def test_a_target_has_one_time_array_per_observation(session):
    tst = f.TargetSpecificTimeFactory()
    assert _collides(session, lambda: f.TargetSpecificTimeFactory(
        target=tst.target, observation=tst.observation))


def test_a_dataset_cannot_derive_from_itself(session):
    lc = f.DataSetFactory()
    session.flush()
    assert _collides(session, lambda: session.add(
        m.DataSetHierarchy(source_dataset_id=lc.id, source_observation_id=lc.observation_id,
                           child_dataset_id=lc.id, child_observation_id=lc.observation_id)))


def test_foreign_keys_are_enforced(session):
    assert _collides(session, lambda: session.add(
        m.DataSet(target_id=987654321, observation_id=987654321, values=[1.0])))


# -- cascades (seed 004, "Database Constraints" 2.) ----------------------------------------

def _observation_with_children(session):
    target = f.TargetFactory()
    observation = f.ObservationFactory()
    f.FITSFrameFactory(observation=observation)
    f.TargetSpecificTimeFactory(target=target, observation=observation)
    raw = f.DataSetFactory(target=target, observation=observation)
    detrended = f.DataSetFactory(target=target, observation=observation,
                                 processing_method=f.ProcessingMethodFactory())
    detrended.source_datasets.append(raw)
    f.QualityFlagArrayFactory(observation=observation, target=target)
    session.flush()
    return observation, target


CHILD_TABLES = {
    m.FITSFrame: 1, m.TargetSpecificTime: 1, m.DataSet: 2, m.QualityFlagArray: 1,
    m.DataSetHierarchy: 1,
}


def _counts(session):
    return {model: session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in CHILD_TABLES}


def test_deleting_an_observation_through_the_orm_with_children_loaded(session):
    observation, _ = _observation_with_children(session)
    assert _counts(session) == CHILD_TABLES
    # Touch every child collection so the ORM, not only the database, cascades.
    loaded = (observation.fits_frames, observation.target_specific_times, observation.datasets,
              observation.quality_flag_arrays, observation.datasets[1].source_datasets)
    assert [len(children) for children in loaded] == [1, 1, 2, 1, 1]
    session.delete(observation)
    session.flush()
    assert _counts(session) == dict.fromkeys(CHILD_TABLES, 0)


def test_deleting_an_observation_in_sql_cascades_in_the_database(session):
    observation, _ = _observation_with_children(session)
    session.execute(sa.delete(m.Observation).where(m.Observation.id == observation.id))
    session.expire_all()
    assert _counts(session) == dict.fromkeys(CHILD_TABLES, 0)


@pytest.mark.parametrize("parent", ["photometry_source", "processing_method", "target"])
def test_deleting_a_dataset_parent_deletes_its_datasets(session, parent):
    lc = f.DataSetFactory(processing_method=f.ProcessingMethodFactory())
    other = f.DataSetFactory()
    session.flush()
    owner = getattr(lc, parent)
    session.delete(owner)
    session.flush()
    remaining = session.scalars(sa.select(m.DataSet.id)).all()
    assert remaining == [other.id]


def test_deleting_a_dataset_removes_its_lineage_edges_only(session):
    raw, mid, final = f.DataSetFactory(), f.DataSetFactory(), f.DataSetFactory()
    mid.source_datasets.append(raw)
    final.source_datasets.append(mid)
    session.flush()
    session.execute(sa.delete(m.DataSet).where(m.DataSet.id == mid.id))
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(m.DataSetHierarchy)) == 0
    assert sorted(session.scalars(sa.select(m.DataSet.id))) == sorted([raw.id, final.id])


# -- relationships the seed's examples use -------------------------------------------------

def test_target_observations_go_through_target_specific_time(session):
    target = f.TargetFactory()
    sector1, sector2, unrelated = (f.ObservationFactory() for _ in range(3))
    for observation in (sector2, sector1):
        f.TargetSpecificTimeFactory(target=target, observation=observation)
    session.flush()
    session.expire_all()
    assert target.observations == sorted([sector1, sector2], key=lambda o: o.id)
    assert sector1.targets == [target]
    assert unrelated.targets == []


def test_instrument_tree(session):
    tess = f.InstrumentFactory(name="TESS")
    camera = f.InstrumentFactory(name="Camera 1", parent=tess)
    ccds = [f.InstrumentFactory(name=f"CCD {i}", parent=camera) for i in (2, 1)]
    observation = f.ObservationFactory(instrument=ccds[1])
    session.flush()
    session.expire_all()
    assert [c.name for c in camera.children] == ["CCD 1", "CCD 2"]
    assert observation.instrument.parent.parent is tess
    assert observation.instrument.path == "TESS > Camera 1 > CCD 1"
    assert [node.name for node in tess.walk()] == ["TESS", "Camera 1", "CCD 1", "CCD 2"]


def test_lineage_graph_walks(session):
    raw = f.DataSetFactory()
    detrended, normalised = f.DataSetFactory(), f.DataSetFactory()
    detrended.source_datasets.append(raw)
    normalised.source_datasets.append(detrended)
    session.flush()
    assert normalised.ancestors() == [detrended, raw]
    assert raw.descendants() == [detrended, normalised]
    assert raw.derived_datasets == [detrended]


def test_array_columns_are_deferred(session):
    lc = f.DataSetFactory()
    session.flush()
    session.expunge_all()
    loaded = session.get(m.DataSet, lc.id)
    assert {"values", "errors"} & set(sa.inspect(loaded).unloaded) == {"values", "errors"}
    assert loaded.values.shape == (f.N_CADENCES,)
    assert "errors" not in sa.inspect(loaded).unloaded  # one deferred group


def test_polymorphic_identities(session):
    assert f.ObservationFactory().type == "observation"
    assert f.FITSFrameFactory().type == "basefits"
    assert f.QualityFlagArrayFactory().type == "base_quality_flag"


def test_quality_flag_created_on_is_set_by_the_database(session):
    flags = f.QualityFlagArrayFactory()
    session.flush()
    session.refresh(flags)
    assert flags.created_on.tzinfo is not None
    assert flags.quality_flags.dtype == np.int64


def test_constraint_and_index_names_fit_postgres_identifiers():
    from lightcurvedb.core.base import metadata

    names = [obj.name for table in metadata.tables.values()
             for obj in (*table.constraints, *table.indexes)]
    assert len(names) > 40
    assert all(name and len(name) <= 63 for name in names), names
