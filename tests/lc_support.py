"""Builders and counters for the light-curve API tests (lightcurvedb.lc)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import numpy as np
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from lightcurvedb.missions.tess import (
    TESSObservation,
    TESSQualityFlagArray,
    ensure_tess_mission,
    tess_ccd,
)
from lightcurvedb.models import (
    DataSet,
    PhotometricSource,
    ProcessingMethod,
    Target,
    TargetSpecificTime,
)


def _one(session: Session, model, **lookup):
    found = session.scalars(select(model).filter_by(**lookup)).first()
    if found is None:
        found = model(**lookup)
        session.add(found)
        session.flush()
    return found


def tess_observation(session: Session, sector: int, cadences: Sequence[int], *, camera: int = 1,
                     ccd: int = 1, cadence_seconds: int = 120) -> TESSObservation:
    """A TESS observation of one sector and CCD with these cadence numbers."""
    observation = TESSObservation(sector=sector, cadence_seconds=cadence_seconds,
                                  instrument=tess_ccd(session, camera, ccd),
                                  cadence_reference=np.asarray(cadences, dtype=np.int64))
    session.add(observation)
    session.flush()
    return observation


def tess_curve(session: Session, observation: TESSObservation, tic: int, values, *,
               btjd=None, errors=None, quality=None, processing: str | None = None,
               photometry: str = "SPOC aperture", sources: Sequence[DataSet] = (),
               flags_for_target: bool = True) -> DataSet:
    """A light curve of TIC ``tic`` in ``observation`` (times and flags made once per target)."""
    _, catalog = ensure_tess_mission(session)
    target = _one(session, Target, catalog=catalog, name=tic)
    if btjd is not None and session.scalars(select(TargetSpecificTime).filter_by(
            target=target, observation=observation)).first() is None:
        session.add(TargetSpecificTime(target=target, observation=observation,
                                       barycentric_julian_dates=np.asarray(btjd) + 2457000.0))
    if quality is not None:
        session.add(TESSQualityFlagArray(target=target if flags_for_target else None,
                                         observation=observation,
                                         quality_flags=np.asarray(quality, dtype=np.int64)))
    dataset = DataSet(target=target, observation=observation, unit="electron / s",
                      photometry_source=_one(session, PhotometricSource, name=photometry),
                      processing_method=None if processing is None
                      else _one(session, ProcessingMethod, name=processing),
                      values=np.asarray(values, dtype=np.float64),
                      errors=None if errors is None else np.asarray(errors, dtype=np.float64))
    dataset.source_datasets.extend(sources)
    session.add(dataset)
    session.flush()
    return dataset


@contextlib.contextmanager
def selects(session: Session) -> Iterator[list[str]]:
    """Record the SELECT statements the session's connection runs inside the block."""
    seen: list[str] = []
    connection = session.connection()

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", record)
