"""DSA-110 products: Measurement Set stages, images from their FITS headers, forced photometry.

* :func:`record_ms_stage` creates or advances an ``ms_index`` row
  (``converted`` -> ``calibrated`` -> ``imaged`` -> ``photometry_complete``).
* :func:`read_image_properties` measures a FITS image -- beam (``BMAJ``,
  ``BMIN`` in degrees -> arcsec, ``BPA``), centre frequency and bandwidth from
  the spectral axis, size, cell size, phase centre, robust noise (MAD) and
  dynamic range -- and :func:`register_image` stores it in ``images``.
* :func:`record_photometry` validates a batch of forced-photometry rows, then
  writes them with :func:`lightcurvedb.bulk.copy_rows` (binary ``COPY`` on
  PostgreSQL, one executemany on SQLite).

An image is one plane. RA and Dec are axes 1 and 2; every further axis must
have length 1, as the ``FREQ`` and ``STOKES`` axes of a WSClean or CASA
continuum image do. A spectral cube (a ``FREQ``, ``VRAD``, ``VOPT``, ``FELO``,
``VELO``, ... axis of more than one channel) or several Stokes planes are
refused with the axis named: one ``images`` row describes one plane (and
``images.path`` is unique, so planes cannot be rows of their own). The
frequency of the plane is that of pixel 1 of its spectral axis,
``CRVALn + (1 - CRPIXn) CDELTn`` in ``CUNITn`` (Hz by default), and the
bandwidth ``|CDELTn|``; a velocity axis (``VRAD`` radio, ``VOPT``/``FELO``
optical, ``VELO`` relativistic or, as ``VELO-LSR``, by ``VELREF``; ``ZOPT``,
``BETA``) is converted to frequency with the rest frequency ``RESTFRQ`` (or
the older ``RESTFREQ``), the bandwidth being the frequency span of the
channel; without a rest frequency both stay empty.

Paths given to these services (images, Measurement Sets, photometry's
``image_path``) are stored resolved: absolute, ``..`` and symbolic links
resolved (:func:`~lightcurvedb.core.pathtype.resolved_path`), so the
database points at the files from any directory; look-ups resolve the same
way. A bad input raises a :class:`ProductsError` before anything is written;
writes happen inside a SAVEPOINT. Committing is left to the caller.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import numbers
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from lightcurvedb.bulk import copy_rows
from lightcurvedb.partitions import create_photometry_partitions
from lightcurvedb.radio._errors import ImageFileError, ProductsError
from lightcurvedb.radio._types import aware_or_now, stored_path
from lightcurvedb.radio.images import ImageProperties, read_image_properties
from lightcurvedb.radio.products import Image, MSIndex, Photometry

__all__ = [
    "IMAGE_TYPES", "MS_STAGES", "MS_STATUSES", "ImageFileError", "ImageProperties",
    "PhotometryRowError", "ProductsError", "UnknownProductError", "read_image_properties",
    "record_ms_stage", "record_photometry", "register_image",
]

#: Measurement Set stages, in processing order.
MS_STAGES = ("converted", "calibrated", "imaged", "photometry_complete")
#: ``ms_index.status`` values.
MS_STATUSES = ("ok", "failed", "flagged")
#: ``images.type`` values.
IMAGE_TYPES = ("image", "pbcor", "residual", "mosaic")
_ID_CHUNK = 1000
_REQUIRED = ("image_path", "source_id", "ra_deg", "dec_deg", "peak_jyb")
_OPTIONAL = ("nvss_flux_mjy", "peak_err_jyb", "snr", "mjd", "sep_from_center_deg", "flags",
             "measured_at")


def _aware_now(value: dt.datetime | None) -> dt.datetime:
    return aware_or_now(value, ProductsError)


def _path(value: str | os.PathLike[str]) -> str:
    return stored_path(value, ProductsError)


class UnknownProductError(ProductsError, LookupError):
    """A referenced Measurement Set or image is not registered."""


class PhotometryRowError(ProductsError):
    """A forced-photometry row is invalid.

    Attributes
    ----------
    row : int
        Index of the row in the input (0-based).
    field : str
        The offending field.
    """

    def __init__(self, row: int, field: str, reason: str) -> None:
        super().__init__(f"photometry row {row}, {field}: {reason}")
        self.row, self.field = row, field




def _month(when: dt.datetime) -> dt.datetime:
    """First instant (UTC) of the month of ``when``: the photometry partition it falls in."""
    return when.astimezone(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _finite(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Real) \
        and math.isfinite(float(value))


# -- Measurement Sets -------------------------------------------------------------------------

def record_ms_stage(session: Session, path: str | os.PathLike[str], stage: str, *,
                    status: str = "ok",
                    start_mjd: float | None = None, end_mjd: float | None = None,
                    field_name: str | None = None, pointing_ra_deg: float | None = None,
                    pointing_dec_deg: float | None = None, cal_applied: bool | None = None,
                    imagename: str | os.PathLike[str] | None = None,
                    when: dt.datetime | None = None,
                    allow_regress: bool = False) -> MSIndex:
    """Create or update a Measurement Set's ``ms_index`` row at a processing stage.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    path : path-like
        The MS (the key), stored resolved.
    stage : str
        One of :data:`MS_STAGES`. A stage earlier than the stored one is
        refused unless ``allow_regress`` (reprocessing).
    status : str, optional
        One of :data:`MS_STATUSES`.
    start_mjd, end_mjd : float, optional
        Time range; ``mid_mjd`` is their mean.
    field_name, pointing_ra_deg, pointing_dec_deg, imagename : optional
        Stored when given (``imagename``, a path, resolved); ``None`` keeps
        what is there.
    cal_applied : bool, optional
        Default: true from ``calibrated`` on, for a new row.
    when : datetime.datetime, optional
        ``processed_at``/``stage_updated_at``; default now.
    allow_regress : bool, optional
        Accept a stage earlier than the stored one.

    Returns
    -------
    MSIndex
        The row, flushed.
    """
    if stage not in MS_STAGES:
        raise ProductsError(f"stage must be one of {', '.join(MS_STAGES)}, got {stage!r}")
    if status not in MS_STATUSES:
        raise ProductsError(f"status must be one of {', '.join(MS_STATUSES)}, got {status!r}")
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise ProductsError("a Measurement Set needs a path")
    path = _path(path)
    if imagename is not None:
        imagename = _path(imagename)
    for name, value in (("start_mjd", start_mjd), ("end_mjd", end_mjd),
                        ("pointing_ra_deg", pointing_ra_deg),
                        ("pointing_dec_deg", pointing_dec_deg)):
        if value is not None and not _finite(value):
            raise ProductsError(f"{name} must be a finite number, got {value!r}")
    if start_mjd is not None and end_mjd is not None and end_mjd < start_mjd:
        raise ProductsError(f"end_mjd {end_mjd} is before start_mjd {start_mjd}")
    if pointing_dec_deg is not None and not -90.0 <= pointing_dec_deg <= 90.0:
        raise ProductsError(f"pointing_dec_deg {pointing_dec_deg} is outside [-90, 90]")
    moment = _aware_now(when)
    with session.begin_nested():
        ms = session.get(MSIndex, path, populate_existing=True)
        if ms is None:
            ms = MSIndex(path=path, cal_applied=MS_STAGES.index(stage) >= 1)
            session.add(ms)
        elif ms.stage in MS_STAGES and not allow_regress \
                and MS_STAGES.index(stage) < MS_STAGES.index(ms.stage):
            raise ProductsError(f"{path} is already {ms.stage}; refusing to go back to {stage} "
                                "(pass allow_regress=True to reprocess)")
        given: dict[str, Any] = {
            "start_mjd": start_mjd, "end_mjd": end_mjd, "field_name": field_name,
            "pointing_ra_deg": pointing_ra_deg, "pointing_dec_deg": pointing_dec_deg,
            "cal_applied": cal_applied, "imagename": imagename}
        for name, value in given.items():
            if value is not None:
                setattr(ms, name, value)
        if ms.start_mjd is not None and ms.end_mjd is not None:
            ms.mid_mjd = 0.5 * (ms.start_mjd + ms.end_mjd)
        ms.stage, ms.status, ms.stage_updated_at, ms.processed_at = stage, status, moment, moment
        session.flush()
    return ms


# -- images -----------------------------------------------------------------------------------

def register_image(session: Session, fits_path: str | os.PathLike[str], *,
                   ms_path: str | os.PathLike[str],
                   image_type: str = "image", field_name: str | None = None,
                   integration_sec: float | None = None,
                   created_at: dt.datetime | None = None) -> Image:
    """Register an image product, measured from its FITS file (:func:`read_image_properties`).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    fits_path : path-like
        The image; its path is stored resolved.
    ms_path : path-like
        The registered Measurement Set it was made from (resolved to look it up).
    image_type : str, optional
        One of :data:`IMAGE_TYPES`; ``pbcor`` sets ``pbcor``.
    field_name : str, optional
        Default: the header's ``OBJECT``.
    integration_sec : float, optional
        Total integration time.
    created_at : datetime.datetime, optional
        Default now.

    Returns
    -------
    Image
        The new row, flushed.

    Raises
    ------
    ProductsError
        :class:`ImageFileError` for an unreadable image or one that is not a
        single plane (a spectral or Stokes cube), :class:`UnknownProductError`
        for an unregistered MS, or an image path already registered.
    """
    if image_type not in IMAGE_TYPES:
        raise ProductsError(f"image type must be one of {', '.join(IMAGE_TYPES)}, "
                            f"got {image_type!r}")
    if integration_sec is not None and not (_finite(integration_sec) and integration_sec >= 0):
        raise ProductsError(f"integration_sec must be a finite number >= 0, "
                            f"got {integration_sec!r}")
    path, ms_path = _path(fits_path), _path(ms_path)
    props = read_image_properties(fits_path)
    moment = _aware_now(created_at)
    if session.get(MSIndex, ms_path) is None:
        raise UnknownProductError(f"Measurement Set {ms_path!r} is not in ms_index")
    if session.execute(select(Image.id).where(Image.path == path)).first() is not None:
        raise ProductsError(f"image {path!r} is already registered")
    values = {field.name: getattr(props, field.name) for field in dataclasses.fields(props)
              if field.name != "mjd_obs"}
    values["field_name"] = field_name or props.field_name
    image = Image(path=path, ms_path=ms_path, created_at=moment, type=image_type, format="fits",
                  pbcor=image_type == "pbcor", integration_sec=integration_sec, **values)
    with session.begin_nested():
        session.add(image)
        session.flush()
    return image


# -- forced photometry ------------------------------------------------------------------------

def _photometry_record(index: int, row: Mapping[str, Any], default_time: dt.datetime
                       ) -> dict[str, Any]:
    if not isinstance(row, Mapping):
        raise PhotometryRowError(index, "*", f"expected a mapping, got {type(row).__name__}")
    unknown = sorted(set(row) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise PhotometryRowError(index, unknown[0], "unknown field")
    for name in _REQUIRED:
        if row.get(name) is None:
            raise PhotometryRowError(index, name, "missing")
    for name in ("image_path", "source_id"):
        if not isinstance(row[name], str) or not row[name]:
            raise PhotometryRowError(index, name, f"must be a non-empty string, got {row[name]!r}")
    record: dict[str, Any] = {"image_path": row["image_path"], "source_id": row["source_id"]}
    for name in ("ra_deg", "dec_deg", "peak_jyb", "nvss_flux_mjy", "peak_err_jyb", "snr", "mjd",
                 "sep_from_center_deg"):
        value = row.get(name)
        if value is not None and not _finite(value):
            raise PhotometryRowError(index, name, f"must be a finite number, got {value!r}")
        record[name] = None if value is None else float(value)
    checks = (("ra_deg", 0.0 <= record["ra_deg"] < 360.0, "outside [0, 360)"),
              ("dec_deg", -90.0 <= record["dec_deg"] <= 90.0, "outside [-90, 90]"),
              ("peak_err_jyb", record["peak_err_jyb"] is None or record["peak_err_jyb"] > 0,
               "must be positive"),
              ("nvss_flux_mjy", record["nvss_flux_mjy"] is None or record["nvss_flux_mjy"] >= 0,
               "must not be negative"),
              ("sep_from_center_deg", record["sep_from_center_deg"] is None
               or record["sep_from_center_deg"] >= 0, "must not be negative"))
    for name, ok, reason in checks:
        if not ok:
            raise PhotometryRowError(index, name, f"{record[name]!r} {reason}")
    flags = row.get("flags", 0)
    if isinstance(flags, bool) or not isinstance(flags, numbers.Integral) or flags < 0:
        raise PhotometryRowError(index, "flags", f"must be an integer >= 0, got {flags!r}")
    record["flags"] = int(flags)
    measured = row.get("measured_at", default_time)
    if not isinstance(measured, dt.datetime) or measured.tzinfo is None:
        raise PhotometryRowError(index, "measured_at", f"must be an aware datetime, got "
                                 f"{measured!r}")
    record["measured_at"] = measured
    if record["snr"] is None and record["peak_err_jyb"] is not None:
        record["snr"] = record["peak_jyb"] / record["peak_err_jyb"]
    return record


def record_photometry(session: Session, rows: Iterable[Mapping[str, Any]], *,
                      measured_at: dt.datetime | None = None) -> int:
    """Validate forced-photometry rows, then write them with :func:`~lightcurvedb.bulk.copy_rows`.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    rows : iterable of mapping
        One mapping per measurement with ``image_path`` (a registered image,
        resolved like :func:`register_image` stores it),
        ``source_id``, ``ra_deg``, ``dec_deg``, ``peak_jyb`` and optionally
        ``peak_err_jyb`` (> 0), ``nvss_flux_mjy``, ``snr`` (default peak /
        error), ``mjd``, ``sep_from_center_deg`` (default: the distance from
        the image's centre), ``flags`` (default 0) and ``measured_at``.
        Numbers must be finite; a negative peak is a valid measurement.
    measured_at : datetime.datetime, optional
        ``measured_at`` of rows that do not give one; default now.

    Returns
    -------
    int
        Rows written.

    Raises
    ------
    PhotometryRowError
        For the first bad row (index and field named), including one whose
        image is not registered. Nothing is written.
    """
    from astropy.coordinates import angular_separation

    default_time = _aware_now(measured_at)
    records = [_photometry_record(i, row, default_time) for i, row in enumerate(rows)]
    resolved: dict[str, str] = {}
    for index, record in enumerate(records):     # each distinct path resolved once
        given = record["image_path"]
        if given not in resolved:
            try:
                resolved[given] = stored_path(given)
            except ValueError as exc:
                raise PhotometryRowError(index, "image_path", str(exc)) from None
        record["image_path"] = resolved[given]
    paths = sorted({record["image_path"] for record in records})
    centres: dict[str, tuple[float | None, float | None]] = {}
    for start in range(0, len(paths), _ID_CHUNK):
        query = select(Image.path, Image.center_ra_deg, Image.center_dec_deg).where(
            Image.path.in_(paths[start:start + _ID_CHUNK]))
        centres.update({path: (ra, dec) for path, ra, dec in session.execute(query)})
    for index, record in enumerate(records):
        if record["image_path"] not in centres:
            raise PhotometryRowError(index, "image_path",
                                     f"image {record['image_path']!r} is not registered")
        ra0, dec0 = centres[record["image_path"]]
        if record["sep_from_center_deg"] is None and ra0 is not None and dec0 is not None:
            record["sep_from_center_deg"] = float(np.degrees(angular_separation(
                *np.radians([record["ra_deg"], record["dec_deg"], ra0, dec0]))))
    if records:
        with session.begin_nested():
            # The products database's connection (the session may span the pipeline's files).
            connection = session.connection(bind_arguments={"mapper": Photometry})
            # PostgreSQL: the months' partitions (times before 1970 go to the DEFAULT one).
            for month in sorted({_month(record["measured_at"]) for record in records}):
                if 1970 <= month.year < 9999:
                    create_photometry_partitions(connection, month, month)
            copy_rows(connection, Photometry, records)
    return len(records)
