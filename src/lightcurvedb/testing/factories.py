"""factory-boy factories for every core model.

For tests of lightcurvedb and of downstream packages (requires the ``test``
extra, which brings ``factory-boy``). Bind them to a session first::

    from lightcurvedb.testing import factories

    with factories.bound_to(session):
        lc = factories.DataSetFactory()       # target, observation, ... made too

Objects are flushed, not committed, so a test's rollback removes them.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from contextlib import contextmanager

import factory
import numpy as np
from factory.alchemy import SQLAlchemyModelFactory
from sqlalchemy.orm import Session

from lightcurvedb import models

__all__ = [
    "ALL_FACTORIES",
    "CatalogValidationFactory",
    "DataSetFactory",
    "DataSetHierarchyFactory",
    "FITSFrameFactory",
    "InstrumentFactory",
    "LightcurveDBFactory",
    "LoadedFileFactory",
    "MissionCatalogFactory",
    "MissionFactory",
    "ObservationFactory",
    "PhotometricSourceFactory",
    "ProcessingMethodFactory",
    "TargetAliasFactory",
    "QualityFlagArrayFactory",
    "TargetFactory",
    "TargetSpecificTimeFactory",
    "bound_to",
]

#: Cadences per generated light curve: one TESS 2-minute sector is ~19,000, a
#: factory default of 500 keeps tests quick while exercising real array sizes.
N_CADENCES = 500

_rng = np.random.default_rng(20181)


class LightcurveDBFactory(SQLAlchemyModelFactory):
    """Base of the factories; subclass it for your own models so :func:`bound_to` binds them."""

    class Meta:
        abstract = True
        sqlalchemy_session = None
        sqlalchemy_session_persistence = "flush"


class MissionFactory(LightcurveDBFactory):
    """A TESS-like mission with its own unique name and time-format name."""

    class Meta:
        model = models.Mission

    name = factory.Sequence(lambda n: f"Mission {n}")
    description = "A generated mission"
    time_unit = "d"
    time_epoch = 2457000.0
    time_epoch_scale = "tdb"
    time_epoch_format = "jd"
    time_format_name = factory.Sequence(lambda n: f"mtjd{n}")


class MissionCatalogFactory(LightcurveDBFactory):
    """A catalog hosted by a new mission."""

    class Meta:
        model = models.MissionCatalog

    host_mission = factory.SubFactory(MissionFactory)
    name = factory.Sequence(lambda n: f"Catalog {n}")
    description = "A generated catalog"


class TargetFactory(LightcurveDBFactory):
    """A target with a TIC-like catalog number."""

    class Meta:
        model = models.Target

    catalog = factory.SubFactory(MissionCatalogFactory)
    name = factory.Sequence(lambda n: 100_000_000 + n)


class TargetAliasFactory(LightcurveDBFactory):
    """Another catalog's name for a target (a Gaia DR3-like source id)."""

    class Meta:
        model = models.TargetAlias

    target = factory.SubFactory(TargetFactory)
    catalog = "Gaia DR3"
    name = factory.Sequence(lambda n: str(4_000_000_000_000_000_000 + n))


class InstrumentFactory(LightcurveDBFactory):
    """An instrument (a root unless ``parent`` is given)."""

    class Meta:
        model = models.Instrument

    name = factory.Sequence(lambda n: f"Instrument {n}")
    properties = factory.LazyFunction(dict)
    parent = None


class ObservationFactory(LightcurveDBFactory):
    """An observation of ``N_CADENCES`` consecutive cadences."""

    class Meta:
        model = models.Observation

    instrument = factory.SubFactory(InstrumentFactory)
    cadence_reference = factory.Sequence(
        lambda n: np.arange(N_CADENCES, dtype=np.int64) + n * N_CADENCES)


class FITSFrameFactory(LightcurveDBFactory):
    """A 2048 x 2048 image frame header."""

    class Meta:
        model = models.FITSFrame

    observation = factory.SubFactory(ObservationFactory)
    cadence = factory.Sequence(lambda n: 10_000 + n)
    simple = True
    bitpix = -32
    naxis = 2
    naxis_values = factory.LazyFunction(lambda: np.array([2048, 2048], dtype=np.int32))
    extended = True
    bscale = 1.0
    bzero = 0.0
    file_path = factory.Sequence(lambda n: pathlib.Path(f"/data/frames/frame-{n:06d}.fits"))


class TargetSpecificTimeFactory(LightcurveDBFactory):
    """Two-minute cadence BJDs starting in TESS sector 1."""

    class Meta:
        model = models.TargetSpecificTime

    target = factory.SubFactory(TargetFactory)
    observation = factory.SubFactory(ObservationFactory)
    barycentric_julian_dates = factory.LazyFunction(
        lambda: 2458325.5 + np.arange(N_CADENCES) * (2.0 / 1440.0))


class PhotometricSourceFactory(LightcurveDBFactory):
    """A uniquely named photometric source."""

    class Meta:
        model = models.PhotometricSource

    name = factory.Sequence(lambda n: f"Aperture {n}")
    description = "A generated aperture"


class ProcessingMethodFactory(LightcurveDBFactory):
    """A uniquely named processing method."""

    class Meta:
        model = models.ProcessingMethod

    name = factory.Sequence(lambda n: f"Method {n}")
    description = "A generated processing method"


class DataSetFactory(LightcurveDBFactory):
    """A normalised light curve with 1 % Gaussian noise and matching errors."""

    class Meta:
        model = models.DataSet

    target = factory.SubFactory(TargetFactory)
    observation = factory.SubFactory(ObservationFactory)
    photometry_source = factory.SubFactory(PhotometricSourceFactory)
    processing_method = None
    values = factory.LazyFunction(lambda: _rng.normal(1.0, 0.01, N_CADENCES))
    errors = factory.LazyFunction(lambda: np.full(N_CADENCES, 0.01))


class DataSetHierarchyFactory(LightcurveDBFactory):
    """A lineage edge between two light curves (new ones unless ``source``/``child`` are given).

    Pass the light curves themselves, ``DataSetHierarchyFactory(source=raw,
    child=detrended)``; the factory fills both ids of each end (a light curve's
    key is ``(id, observation_id)``).
    """

    class Meta:
        model = models.DataSetHierarchy

    class Params:
        source = factory.SubFactory(DataSetFactory)
        child = factory.SubFactory(DataSetFactory)

    source_dataset_id = factory.LazyAttribute(lambda edge: edge.source.id)
    source_observation_id = factory.LazyAttribute(lambda edge: edge.source.observation_id)
    child_dataset_id = factory.LazyAttribute(lambda edge: edge.child.id)
    child_observation_id = factory.LazyAttribute(lambda edge: edge.child.observation_id)


class QualityFlagArrayFactory(LightcurveDBFactory):
    """Observation-wide flags with a few bits set."""

    class Meta:
        model = models.QualityFlagArray

    observation = factory.SubFactory(ObservationFactory)
    target = None
    quality_flags = factory.LazyFunction(
        lambda: (_rng.random(N_CADENCES) < 0.05).astype(np.int64))


class CatalogValidationFactory(LightcurveDBFactory):
    """A passing validation report of a 1,000-row catalog file loaded into ``galaxy``."""

    class Meta:
        model = models.CatalogValidation

    source_path = factory.Sequence(lambda n: pathlib.Path(f"/data/fastspec-{n:04d}.fits"))
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    hdu = "FASTSPEC"
    destination = "galaxy"
    rows_in_file = 1_000
    rows_loaded = 1_000
    key_columns = factory.LazyFunction(lambda: ["TARGETID"])
    key_unique = True
    duplicate_keys = 0
    existing_keys = 0
    passed = True
    loaded = True
    problems = factory.LazyFunction(list)
    column_stats = factory.LazyFunction(dict)


class LoadedFileFactory(LightcurveDBFactory):
    """The record of a loaded SPOC file of a new target (no observation)."""

    class Meta:
        model = models.LoadedFile

    loader = "tess"
    file_name = factory.Sequence(
        lambda n: f"tess2018206045859-s0001-{n:016d}-0120-s_lc.fits")
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    size_bytes = 1_828_800
    file_path = factory.LazyAttribute(lambda o: pathlib.Path("/data/s0001") / o.file_name)
    target = factory.SubFactory(TargetFactory)


ALL_FACTORIES: tuple[type[SQLAlchemyModelFactory], ...] = (
    MissionFactory, MissionCatalogFactory, TargetFactory, InstrumentFactory,
    ObservationFactory, FITSFrameFactory, TargetSpecificTimeFactory, PhotometricSourceFactory,
    ProcessingMethodFactory, DataSetFactory, DataSetHierarchyFactory, QualityFlagArrayFactory,
    CatalogValidationFactory, TargetAliasFactory, LoadedFileFactory,
)


@contextmanager
def bound_to(session: Session) -> Iterator[None]:
    """Make every factory, subclasses in other packages included, add to ``session``.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        The session objects are added to and flushed in.
    """
    previous = LightcurveDBFactory._meta.sqlalchemy_session
    _set(session)
    try:
        yield
    finally:
        _set(previous)


def _set(session: Session | None) -> None:
    pending: list[type] = [LightcurveDBFactory]
    while pending:  # every subclass, downstream packages' factories included
        factory_class = pending.pop()
        factory_class._meta.sqlalchemy_session = session
        pending.extend(factory_class.__subclasses__())
