"""Load TESS SPOC light-curve files (``*_lc.fits``, ``*_fast-lc.fits``) into the core schema.

Each file is parsed into plain values and validated first
(:func:`read_spoc_lightcurve`, in worker processes with ``jobs``), then
written a batch at a time (:func:`~lightcurvedb.loaders.tess_batch.write_spoc_batch`:
one bulk write per table, a file that fails is left out or written alone in
its own SAVEPOINT by :func:`store_spoc_lightcurve`): Target (TIC),
TESSObservation (sector, cadence, CCD; ``CADENCENO`` as cadence reference),
TargetSpecificTime (BJD, TDB), SAP and PDCSAP DataSets linked by lineage, a
TESSQualityFlagArray and the file's LoadedFile record (name and content hash:
re-runs skip it without reading it). See :doc:`/loading_tess` for what is read
and written and how failures are handled.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import Session, undefer

from lightcurvedb.core.engine import connect
from lightcurvedb.core.engine import session as open_session
from lightcurvedb.loaders.pipeline import DEFAULT_BATCH_SIZE, run_batched
from lightcurvedb.loaders.report import (
    LoaderError,
    LoadReport,
    PathArgument,
    find_files,
)
from lightcurvedb.loaders.spoc import (  # the reading half, re-exported here
    REQUIRED_COLUMNS,
    SPOC_PATTERNS,
    SpocLightCurve,
    read_spoc_lightcurve,
)
from lightcurvedb.loaders.tess_batch import LOADER, write_spoc_batch
from lightcurvedb.missions.tess import (
    TESSObservation,
    TESSQualityFlagArray,
    ensure_tess_mission,
    tess_ccd,
)
from lightcurvedb.models import (
    DataSet,
    Instrument,
    PhotometricSource,
    ProcessingMethod,
    Target,
    TargetSpecificTime,
)
from lightcurvedb.partitions import create_observation_partitions

__all__ = [
    "FLUX_UNIT",
    "PDC_METHOD",
    "REQUIRED_COLUMNS",
    "SAP_SOURCE",
    "SPOC_PATTERNS",
    "SpocLightCurve",
    "find_spoc_files",
    "load_lightcurves",
    "load_paths",
    "record_position",
    "read_spoc_lightcurve",
    "store_spoc_lightcurve",
]

#: Name and description of the :class:`~lightcurvedb.models.PhotometricSource` of SAP flux.
SAP_SOURCE = ("SPOC aperture", "Simple aperture photometry from the SPOC pipeline")
#: Name and description of the :class:`~lightcurvedb.models.ProcessingMethod` of PDCSAP flux.
PDC_METHOD = ("PDC", "Presearch Data Conditioning (SPOC): systematics-corrected SAP flux")
#: Unit of SAP and PDCSAP flux (SPOC's ``e-/s``) as an astropy unit string.
FLUX_UNIT = "electron / s"


def _get_or_create(session: Session, model: type[Any], defaults: dict[str, Any] | None = None,
                   **lookup: Any) -> Any:
    found = session.scalars(select(model).filter_by(**lookup).limit(1)).first()
    if found is None:
        found = model(**lookup, **(defaults or {}))
        session.add(found)
        session.flush()
    return found


def check_cadences(observation: TESSObservation, lc: SpocLightCurve) -> None:
    """Refuse a file whose ``CADENCENO`` differ from its observation's cadence numbers.

    An observation without cadence numbers takes the file's.

    Raises
    ------
    LoaderError
        Naming the observation, both cadence counts and spans.
    """
    if observation.cadence_reference is None:
        observation.cadence_reference = lc.cadence_numbers
    elif not np.array_equal(observation.cadence_reference, lc.cadence_numbers):
        known, new = observation.cadence_reference, lc.cadence_numbers
        span = f"{known[0]}-{known[-1]}" if len(known) else "none"
        raise LoaderError(lc.path, f"cadence numbers differ from observation {observation.id} "
                                   f"(sector {lc.sector}, camera {lc.camera}, CCD {lc.ccd}, "
                                   f"{lc.cadence_seconds} s): it has {len(known)} cadences "
                                   f"({span}), the file {len(new)} ({new[0]}-{new[-1]})")


def observation_for(session: Session, lc: SpocLightCurve, ccd: Instrument) -> TESSObservation:
    """Return the file's observation (sector, cadence, CCD), creating it if absent.

    A new observation gets the file's cadence numbers (and, on PostgreSQL,
    its partitions); an existing one must have the same (:func:`check_cadences`).
    """
    observation = session.scalars(
        select(TESSObservation).where(
            TESSObservation.sector == lc.sector,
            TESSObservation.cadence_seconds == lc.cadence_seconds,
            TESSObservation.instrument_id == ccd.id, TESSObservation.orbit_number.is_(None))
        .options(undefer(TESSObservation.cadence_reference)).order_by(TESSObservation.id)
    ).first()
    if observation is None:
        observation = TESSObservation(sector=lc.sector, cadence_seconds=lc.cadence_seconds,
                                      instrument=ccd, cadence_reference=lc.cadence_numbers)
        session.add(observation)
        session.flush()
        # PostgreSQL: the new observation's partitions, in this file's SAVEPOINT.
        create_observation_partitions(session, [observation.id])
    else:
        check_cadences(observation, lc)
    return observation


def shared_methods(session: Session) -> tuple[PhotometricSource, ProcessingMethod]:
    """Return the SAP :class:`PhotometricSource` and the PDC :class:`ProcessingMethod`.

    Created if absent, from :data:`SAP_SOURCE` and :data:`PDC_METHOD`.
    """
    source = _get_or_create(session, PhotometricSource, {"description": SAP_SOURCE[1]},
                            name=SAP_SOURCE[0])
    method = _get_or_create(session, ProcessingMethod, {"description": PDC_METHOD[1]},
                            name=PDC_METHOD[0])
    return source, method


def _same(stored: npt.NDArray[Any] | None, new: npt.NDArray[Any]) -> bool:
    return stored is not None and stored.shape == new.shape and \
        bool(np.array_equal(stored, new, equal_nan=stored.dtype.kind == "f"))


def record_position(target: Target, position: dict[str, Any]) -> bool:
    """Give ``target`` the position and magnitude a file carries, where it has none.

    The first position stored is kept (a star does not move between SPOC
    files; a later file differing in the last digit must not rewrite it); a
    missing magnitude is filled on its own.

    Parameters
    ----------
    target : Target
        The target.
    position : dict
        From :func:`~lightcurvedb.loaders.spoc.read_position`.

    Returns
    -------
    bool
        Whether anything was filled.
    """
    changed = False
    if target.ra is None and "ra" in position:
        for name in ("ra", "dec", "epoch", "pm_ra", "pm_dec"):
            if name in position:
                setattr(target, name, position[name])
        changed = True
    if target.magnitude is None and "magnitude" in position:
        target.magnitude = position["magnitude"]
        target.magnitude_band = position.get("magnitude_band")
        changed = True
    return changed


def store_spoc_lightcurve(session: Session, lc: SpocLightCurve) -> bool:
    """Write one parsed light curve, creating only the rows that are missing.

    Flushes but never commits: the caller owns the transaction (and should
    call this inside ``session.begin_nested()`` so a failure undoes it).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        A session on a database at the newest migration.
    lc : SpocLightCurve
        From :func:`read_spoc_lightcurve`.

    Returns
    -------
    bool
        True if rows were written (or the target's position filled, see
        :func:`record_position`), False if the light curve was already loaded
        with identical times, fluxes and quality flags.

    Raises
    ------
    LoaderError
        If the observation's cadence numbers differ from the file's, or the
        target's rows in that observation hold different data ("already
        loaded with different data"): nothing is overwritten.
    """
    return store_and_locate(session, lc)[0]


def store_and_locate(session: Session, lc: SpocLightCurve) -> tuple[bool, int, int]:
    """:func:`store_spoc_lightcurve`, also returning the target's and observation's ids."""
    _, catalog = ensure_tess_mission(session)
    ccd = tess_ccd(session, lc.camera, lc.ccd)
    target = _get_or_create(session, Target, catalog_id=catalog.id, name=lc.tic_id)
    placed = record_position(target, lc.position)
    observation = observation_for(session, lc, ccd)
    source, method = shared_methods(session)
    keys = {"target_id": target.id, "observation_id": observation.id}
    times = session.scalars(select(TargetSpecificTime).filter_by(**keys)).first()
    sap = session.scalars(select(DataSet).filter_by(
        **keys, photometric_method_id=source.id, processing_method_id=None)).first()
    pdcsap = session.scalars(select(DataSet).filter_by(
        **keys, photometric_method_id=source.id, processing_method_id=method.id)).first()
    flags = session.scalars(select(TESSQualityFlagArray).filter_by(**keys)).first()
    bjd = lc.barycentric_julian_dates
    differing = []
    if times is not None and not _same(times.barycentric_julian_dates, bjd):
        differing.append("times")
    if sap is not None and not (_same(sap.values, lc.sap_flux)
                                and _same(sap.errors, lc.sap_flux_err)):
        differing.append("SAP flux")
    if pdcsap is not None and not (_same(pdcsap.values, lc.pdcsap_flux)
                                   and _same(pdcsap.errors, lc.pdcsap_flux_err)):
        differing.append("PDCSAP flux")
    if flags is not None and not _same(flags.quality_flags, lc.quality):
        differing.append("quality flags")
    if differing:
        raise LoaderError(lc.path, f"already loaded with different data ({', '.join(differing)} "
                                   f"of TIC {lc.tic_id} in observation {observation.id} differ)")
    new_rows: list[Any] = []
    if times is None:
        new_rows.append(TargetSpecificTime(target=target, observation=observation,
                                           barycentric_julian_dates=bjd))
    if sap is None:
        sap = DataSet(target=target, observation=observation, photometry_source=source,
                      unit=FLUX_UNIT, values=lc.sap_flux, errors=lc.sap_flux_err)
        new_rows.append(sap)
    if pdcsap is None:
        pdcsap = DataSet(target=target, observation=observation, photometry_source=source,
                         processing_method=method, unit=FLUX_UNIT, values=lc.pdcsap_flux,
                         errors=lc.pdcsap_flux_err)
        new_rows.append(pdcsap)
    if flags is None:
        new_rows.append(TESSQualityFlagArray(target=target, observation=observation,
                                             quality_flags=lc.quality))
    session.add_all(new_rows)
    linked = sap in pdcsap.source_datasets
    if not linked:
        pdcsap.source_datasets.append(sap)
    session.flush()
    return bool(new_rows) or not linked or placed, target.id, observation.id


def find_spoc_files(paths: PathArgument) -> list[pathlib.Path]:
    """Expand directories recursively to their :data:`SPOC_PATTERNS` files (see ``find_files``).

    Raises :class:`~lightcurvedb.loaders.report.NoFilesFound` for a directory
    that holds none.
    """
    return find_files(paths, SPOC_PATTERNS)


def load_lightcurves(session: Session, paths: PathArgument, *, progress: bool = True,
                     strict: bool = False, jobs: int | None = 1,
                     batch_size: int = DEFAULT_BATCH_SIZE,
                     after_batch: Callable[[], None] | None = None) -> LoadReport:
    """Load SPOC light-curve files, each atomically, into the session's database.

    Files already loaded are recognised by name and content hash (the
    :class:`~lightcurvedb.models.LoadedFile` records written with their rows)
    without reading their arrays: the same content is skipped, changed
    content is refused (``"changed since it was loaded ..."``), never
    overwritten. The other files are read and validated (in ``jobs`` worker
    processes), then written ``batch_size`` at a time with one bulk write
    per table (:func:`~lightcurvedb.loaders.tess_batch.write_spoc_batch`); a
    bad file is recorded in the report with its reason and leaves no rows.
    The session is flushed, never committed (unless ``after_batch`` does):
    commit it yourself, or use :func:`load_paths`.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        A session on a database at the newest migration.
    paths : path-like or iterable of path-like
        Files, or directories searched recursively for :data:`SPOC_PATTERNS`
        (:func:`find_spoc_files`): ``*_lc.fits`` and ``*_fast-lc.fits``, plain,
        gzipped or bzip2-compressed.
    progress : bool, optional
        Show a progress bar on stderr (on a terminal, or for more than
        :data:`~lightcurvedb.loaders.progress.MIN_ITEMS` files), counting
        the files left to load (those not recorded as loaded).
    strict : bool, optional
        Raise at the first failure instead of going on.
    jobs : int or None, optional
        Worker processes reading files while this one writes (default 1: read
        here; None: the usable cores, at most
        :data:`~lightcurvedb.loaders.pipeline.MAX_AUTO_JOBS`, fewer for few files).
    batch_size : int, optional
        Files written together (default
        :data:`~lightcurvedb.loaders.pipeline.DEFAULT_BATCH_SIZE`); memory
        holds about this many files' arrays plus a few per worker.
    after_batch : callable, optional
        Called after each batch is written, e.g. ``session.commit``.

    Returns
    -------
    LoadReport
        Files loaded, skipped (already loaded, identical) and failed (with reasons).

    Raises
    ------
    LoaderError
        With ``strict=True``, for the first file that fails.
    NoFilesFound
        If a directory holds no file :data:`SPOC_PATTERNS` match (nothing
        is read or written).
    """
    return run_batched(session, find_spoc_files(paths), loader=LOADER,
                       parse=read_spoc_lightcurve,
                       write_batch=lambda lcs: write_spoc_batch(session, lcs),
                       after_batch=after_batch, kind="TESS SPOC light curves", jobs=jobs,
                       batch_size=batch_size, progress=progress, strict=strict)


def load_paths(bind: str | URL | Engine | None, paths: PathArgument, *, progress: bool = True,
               strict: bool = False, jobs: int | None = 1,
               batch_size: int = DEFAULT_BATCH_SIZE) -> LoadReport:
    """Load SPOC files with :func:`load_lightcurves` in a new session, committing each batch.

    The database must be at the newest migration (``lcdb db upgrade``;
    ``lcdb load tess`` migrates first). Each batch is committed once written,
    so an interrupted load keeps what it finished and a re-run resumes after
    it (loaded files are skipped by their recorded hash). With
    ``strict=True`` nothing is committed before the end, and a failure rolls
    the whole run back.

    Parameters
    ----------
    bind : str, sqlalchemy.engine.URL or sqlalchemy.engine.Engine, optional
        The database; resolved like :func:`lightcurvedb.connect` when None.
    paths, progress, strict, jobs, batch_size
        As for :func:`load_lightcurves`.

    Returns
    -------
    LoadReport
    """
    engine = bind if isinstance(bind, Engine) else connect(bind)
    try:
        with open_session(engine) as db:
            return load_lightcurves(db, paths, progress=progress, strict=strict, jobs=jobs,
                                    batch_size=batch_size,
                                    after_batch=None if strict else db.commit)
    finally:
        if engine is not bind:
            engine.dispose()
