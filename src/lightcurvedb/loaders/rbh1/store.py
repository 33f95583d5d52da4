"""Write one parsed RBH-1 file: its mission frame and zone-0/zone-1 rows.

:func:`store_rbh1_file` writes, for an :class:`~lightcurvedb.loaders.rbh1.records.RBH1File`:

* the mission frame (:class:`~lightcurvedb.missions.hst.HSTFLCFrame`,
  :class:`~lightcurvedb.missions.hst.HSTDRCFrame`,
  :class:`~lightcurvedb.missions.jwst.JWSTCalFrame`,
  :class:`~lightcurvedb.missions.jwst.JWSTX1DFrame` or
  :class:`~lightcurvedb.missions.jwst.JWSTS3DFrame`) under an
  :class:`~lightcurvedb.missions.hst.HSTObservation` (program, visit, filter,
  detector) or :class:`~lightcurvedb.missions.jwst.JWSTObservation` (program,
  observation, visit), on the instrument ``HST > WFC3 > UVIS`` or
  ``JWST > NIRSpec > IFU``, with cadence ``cadence_from_mjd(EXPSTART)`` and
  the detector that read it (``HST > WFC3 > UVIS``, ``JWST > NIRSpec > IFU >
  NRS1`` or ``NRS2``): the two NIRSpec detectors of one exposure share
  ``EXPSTART`` and are told apart by the detector;
* zone 0: the :class:`~lightcurvedb.rbh1.RBH1Observation` catalog row;
* zone 1: the :class:`~lightcurvedb.rbh1.WCSSolution` and, for cubes, the
  :class:`~lightcurvedb.rbh1.SpectralGrid`.

It flushes and never commits; the loader calls it inside a SAVEPOINT.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lightcurvedb.loaders.rbh1.geometry import RBH1FileError
from lightcurvedb.loaders.rbh1.records import RBH1File
from lightcurvedb.loaders.report import COMPRESSED_SUFFIXES, uncompressed_name
from lightcurvedb.missions._common import cadence_from_mjd
from lightcurvedb.missions.hst import (
    HSTDRCFrame,
    HSTFLCFrame,
    HSTFrame,
    HSTObservation,
    hst_detector,
)
from lightcurvedb.missions.jwst import (
    JWSTCalFrame,
    JWSTFrame,
    JWSTObservation,
    JWSTS3DFrame,
    JWSTX1DFrame,
    jwst_instrument,
)
from lightcurvedb.models import Instrument
from lightcurvedb.rbh1 import RBH1Observation, SpectralGrid, WCSSolution

__all__ = ["FRAME_CLASSES", "store_rbh1_file"]

#: Mission frame class of each file type.
FRAME_CLASSES: dict[str, Any] = {
    "flc": HSTFLCFrame, "drc": HSTDRCFrame, "cal": JWSTCalFrame, "x1d": JWSTX1DFrame,
    "s3d": JWSTS3DFrame,
}


def _instruments(session: Session, record: RBH1File) -> tuple[Instrument, Instrument]:
    """Return the instrument of the file's observation and the detector of its frame.

    HST: both ``HST > WFC3 > UVIS`` (one file holds both UVIS chips). JWST:
    the observing mode ``JWST > NIRSpec > IFU`` and the detector under it
    (``... > IFU > NRS1``), from ``EXP_TYPE`` and ``DETECTOR``.
    """
    v = record.values
    try:
        if record.telescope == "HST":
            uvis = hst_detector(session, "WFC3", v["detector"])
            return uvis, uvis
        return jwst_instrument(session, "NIRSPEC", v["exposure_type"], v["detector"])
    except ValueError as exc:
        raise RBH1FileError(record.path, str(exc)) from None


def _observation(session: Session, record: RBH1File, instrument: Instrument
                 ) -> HSTObservation | JWSTObservation:
    v = record.values
    observation: HSTObservation | JWSTObservation | None
    if record.telescope == "HST":
        keys: dict[str, Any] = {"program_id": v["program_id"], "visit_id": v["visit_id"],
                                "filter_name": v["filter_name"] or "", "detector": v["detector"]}
        observation = session.scalars(select(HSTObservation).filter_by(
            instrument_id=instrument.id, **keys).order_by(HSTObservation.id)).first()
        if observation is None:
            observation = HSTObservation(instrument=instrument, exposure_time=0.0, **keys)
    else:
        keys = {"program_id": v["program_id"], "observation_number": v["observation_number"],
                "visit_number": v["visit_number"]}
        observation = session.scalars(select(JWSTObservation).filter_by(
            instrument_id=instrument.id, **keys).order_by(JWSTObservation.id)).first()
        if observation is None:
            observation = JWSTObservation(
                instrument=instrument, grating=v["grating"], filter_name=v["filter_name"],
                exposure_type=v["exposure_type"], exposure_time=0.0, **keys)
    return observation


def _total_exposure_time(session: Session, record: RBH1File,
                         observation: HSTObservation | JWSTObservation) -> float:
    """Sum of the exposure times of the distinct exposures of ``observation``.

    An exposure is one start time (cadence): an ``flc`` and the ``drc``
    drizzled from it, or NIRSpec's NRS1 and NRS2 files, count once.
    """
    frame = HSTFrame if record.telescope == "HST" else JWSTFrame
    per_exposure = (select(frame.cadence, func.max(frame.exposure_time).label("seconds"))
                    .where(frame.observation_id == observation.id)
                    .group_by(frame.cadence).subquery())
    return float(session.scalar(select(func.coalesce(func.sum(per_exposure.c.seconds), 0.0)))
                 or 0.0)


def _same_file_names(name: str) -> list[str]:
    """``name`` plain and gzip/bzip2-compressed: one file (its SHA-256 is of the plain bytes)."""
    plain = uncompressed_name(name)
    return [plain, *(plain + suffix for suffix in COMPRESSED_SUFFIXES)]


def store_rbh1_file(session: Session, record: RBH1File, *, run_id: int | None = None) -> bool:
    """Write one parsed file, unless it is already loaded.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        A session on a database at the newest migration; call this inside
        ``session.begin_nested()`` so a failure leaves nothing behind.
    record : RBH1File
        From :func:`~lightcurvedb.loaders.rbh1.records.read_rbh1_file`.
    run_id : int, optional
        :attr:`~lightcurvedb.rbh1.PipelineRun.run_id` of the ``observations``
        stage, stored on the catalog row.

    Returns
    -------
    bool
        True if rows were written; False if a file of that name with the same
        SHA-256 is already loaded (``x_flc.fits``, ``x_flc.fits.gz`` and
        ``x_flc.fits.bz2`` are one name: the SHA-256 is of the uncompressed
        bytes).

    Raises
    ------
    lightcurvedb.loaders.rbh1.geometry.RBH1FileError
        If a file of that name is loaded with different content ("already
        loaded with different content"), another file of the same type and
        detector has the same exposure start (cadence), or the detector or
        exposure type is not one lightcurvedb knows; nothing is written.
    """
    loaded = session.scalars(select(RBH1Observation).where(
        RBH1Observation.file_name.in_(_same_file_names(record.file_name)))).first()
    if loaded is not None:
        if loaded.sha256 == record.sha256:
            return False
        raise RBH1FileError(record.path, f"already loaded with different content (obs_id "
                                         f"{loaded.obs_id} from {loaded.file_path} has sha256 "
                                         f"{loaded.sha256[:12]}..., this file "
                                         f"{record.sha256[:12]}...)")
    v = record.values
    frame_class = FRAME_CLASSES[record.file_type]
    cadence = cadence_from_mjd(v["exposure_start_mjd"])
    instrument, detector = _instruments(session, record)
    clash = session.scalars(select(frame_class).where(
        frame_class.cadence == cadence, frame_class.instrument_id == detector.id)).first()
    if clash is not None:
        raise RBH1FileError(record.path, f"another {record.file_type} file of detector "
                                         f"{detector.name} starts at the same time (EXPSTART = "
                                         f"{v['exposure_start_mjd']}, cadence {cadence}): "
                                         f"{clash.file_path}")
    observation = _observation(session, record, instrument)
    frame = frame_class(observation=observation, instrument=detector, cadence=cadence,
                        file_path=record.path, rootname=v["rootname"],
                        exposure_start_mjd=v["exposure_start_mjd"],
                        exposure_time=v["exposure_time"], filter_name=v["filter_name"],
                        **record.frame)
    catalog = RBH1Observation(
        frame=frame, file_name=record.file_name, file_path=record.path,
        instrument=record.instrument, data_level=record.data_level,
        file_type=record.file_type, target_name=v["target_name"], program_id=v["program_id"],
        filter_name=v["filter_name"], grating=v.get("grating"),
        exposure_time=v["exposure_time"], date_obs=v["date_obs"],
        exposure_start_mjd=v["exposure_start_mjd"], n_extensions=record.n_extensions,
        file_size_bytes=record.file_size_bytes, sha256=record.sha256,
        wcs_excluded_reason=record.wcs_excluded_reason, run_id=run_id)
    rows: list[Any] = [observation, frame, catalog]
    if record.wcs is not None:
        w = record.wcs
        ra_min, dec_min, ra_max, dec_max = w.footprint.bounds
        ra_span, dec_span = w.spans_arcsec
        solution = WCSSolution(
            observation=catalog, footprint=w.footprint, footprint_method=w.footprint_method,
            n_chips=w.n_chips, pixel_scale_arcsec=w.pixel_scale_arcsec,
            ra_span_arcsec=ra_span, dec_span_arcsec=dec_span, ra_min=ra_min, ra_max=ra_max,
            dec_min=dec_min, dec_max=dec_max, **w.keywords)
        rows.append(solution)
        if record.grid is not None:
            g = record.grid
            rows.append(SpectralGrid(
                wcs_solution=solution, n_channels=g.n_channels,
                min_wavelength=float(g.wavelengths[0]),
                max_wavelength=float(g.wavelengths[-1]), mean_spacing=g.mean_spacing,
                mean_resolution=g.mean_resolution, wavelengths=g.wavelengths,
                grid_hash=g.grid_hash, extraction_mode=g.extraction_mode))
    session.add_all(rows)
    session.flush()
    observation.exposure_time = _total_exposure_time(session, record, observation)
    session.flush()
    return True
