"""Every core model has a one-line repr with its key fields, and a repr never queries."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from lc_support import selects, tess_curve, tess_observation
from lightcurvedb.missions import hst, jwst
from lightcurvedb.missions.tess import TESSObservation
from lightcurvedb.models import (
    DataSet,
    DataSetHierarchy,
    FITSFrame,
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
from lightcurvedb.testing import factories as f


def test_each_model_reprs_on_one_line_with_its_keys(session):
    observation = tess_observation(session, 21, np.arange(4), camera=3, ccd=2)
    raw = tess_curve(session, observation, 7001, np.ones(4), btjd=np.arange(4.0),
                     quality=np.zeros(4))
    pdc = tess_curve(session, observation, 7001, np.ones(4), processing="PDC", sources=[raw])
    hst_obs = hst.HSTObservation(instrument_id=f.InstrumentFactory().id, program_id=17301,
                                 visit_id="01", filter_name="F200LP", exposure_time=10.0,
                                 detector="UVIS")
    jwst_obs = jwst.JWSTObservation(instrument_id=f.InstrumentFactory().id, program_id=3045,
                                    observation_number=1, visit_number=2, exposure_time=5.0,
                                    exposure_type="NRS_IFU")
    session.add_all([hst_obs, jwst_obs])
    frame = f.FITSFrameFactory()
    session.flush()
    edge = session.scalars(select(DataSetHierarchy)).one()
    assert observation.instrument.parent.name == "Camera 3"     # the tree, loaded
    expected = {
        observation: "TESSObservation(sector=21, camera=3, ccd=2, cadence_seconds=120)",
        hst_obs: "HSTObservation(program_id=17301, visit_id='01', filter_name='F200LP', "
                 "detector='UVIS')",
        jwst_obs: "JWSTObservation(program_id=3045, observation_number=1, visit_number=2, "
                  "exposure_type='NRS_IFU')",
        edge: f"DataSetHierarchy(source_dataset_id={raw.id}, child_dataset_id={pdc.id})",
        pdc: f"DataSet(id={pdc.id}, target_id={pdc.target_id}, "
             f"observation_id={observation.id})",
    }
    for obj, text in expected.items():
        assert repr(obj) == text
    for model in (Mission, MissionCatalog, Target, Instrument, Observation, FITSFrame,
                  TargetSpecificTime, PhotometricSource, ProcessingMethod, DataSet,
                  DataSetHierarchy, QualityFlagArray):
        for obj in session.scalars(select(model)):
            text = repr(obj)
            assert "\n" not in text and text.startswith(type(obj).__name__ + "(")
            assert " object at 0x" not in text
    assert frame is not None


def test_a_repr_of_unloaded_relationships_does_not_query(session):
    observation_id = tess_observation(session, 22, np.arange(3), camera=4, ccd=4).id
    session.commit()
    session.expunge_all()
    fresh = session.get(TESSObservation, observation_id)    # instrument not loaded
    with selects(session) as seen:
        text = repr(fresh)
    assert seen == [] and text == "TESSObservation(sector=22, camera=..., ccd=..., " \
                                  "cadence_seconds=120)"
    session.expire(fresh)
    session.expunge(fresh)                                   # detached and expired
    assert repr(fresh) == "TESSObservation(sector=..., camera=..., ccd=..., " \
                          "cadence_seconds=...)"
    dataset = session.scalars(select(DataSet)).first()
    if dataset is not None:
        session.expire(dataset)
        session.expunge(dataset)
        assert repr(dataset) == "DataSet(id=..., target_id=..., observation_id=...)"
