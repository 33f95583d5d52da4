"""DataSet.has_photometric_source / has_processing_method: NULL means "not recorded"."""

from __future__ import annotations

import sqlalchemy as sa

from lightcurvedb.models import DataSet
from lightcurvedb.testing import factories as f


def _ids(session, where):
    return session.scalars(sa.select(DataSet.id).where(where).order_by(DataSet.id)).all()


def test_sql_and_python_agree_on_which_light_curves_have_a_method(session):
    pdc = f.ProcessingMethodFactory(name="PDC")
    raw = f.DataSetFactory()                                         # SAP: no processing
    detrended = f.DataSetFactory(processing_method=pdc)
    unknown = f.DataSetFactory(photometry_source=None)               # neither recorded
    session.expire_all()
    assert _ids(session, DataSet.has_processing_method) == [detrended.id]
    assert _ids(session, ~DataSet.has_processing_method) == sorted([raw.id, unknown.id])
    assert _ids(session, DataSet.has_photometric_source) == sorted([raw.id, detrended.id])
    assert _ids(session, ~DataSet.has_photometric_source) == [unknown.id]
    rows = {d.id: d for d in session.scalars(sa.select(DataSet))}
    assert [rows[i].has_processing_method for i in (raw.id, detrended.id, unknown.id)] == [
        False, True, False]
    assert [rows[i].has_photometric_source for i in (raw.id, detrended.id, unknown.id)] == [
        True, True, False]


def test_an_unflushed_light_curve_counts_its_related_method(session):
    lc = DataSet(processing_method=f.ProcessingMethodFactory(name="QLP KSPSAP"),
                 photometry_source=None)
    assert lc.processing_method_id is None          # not flushed: only the relationship is set
    assert lc.has_processing_method is True
    assert lc.has_photometric_source is False
