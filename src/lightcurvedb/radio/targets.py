"""DSA-110 sources as core targets, and their photometry as core light curves.

A DSA-110 source (an NVSS id such as ``NVSS J123456.7+420312``) is a
:class:`~lightcurvedb.models.Target` of catalog ``NVSS`` hosted by mission
``DSA-110``: the designation is kept in :attr:`Target.designation
<lightcurvedb.models.Target.designation>` and :attr:`Target.name
<lightcurvedb.models.Target.name>` holds :func:`designation_number`.

:func:`materialise_lightcurve` turns a source's rows of ``photometry`` into a
:class:`~lightcurvedb.models.DataSet` that reads like a TESS light curve
(:meth:`DataSet.to_timeseries <lightcurvedb.models.DataSet.to_timeseries>`):

* one shared :class:`~lightcurvedb.models.Observation`, the DSA-110 continuum
  monitoring campaign, made with instrument ``DSA-110 > Correlator``; each
  source has its own number of points, held by its
  :class:`~lightcurvedb.models.TargetSpecificTime` in that observation;
* times: the photometry ``mjd`` (UTC, at the telescope) turned into
  barycentric Julian dates (TDB) for the source's position, as the core time
  column expects (see :func:`barycentric_julian_dates`); the mission's time
  system is MJD (UTC), so :meth:`Mission.from_time
  <lightcurvedb.models.Mission.from_time>` gives barycentric MJDs back;
* values: ``peak_jyb * 1000`` and errors ``peak_err_jyb * 1000`` in
  ``mJy / beam``, measured with photometric source ``DSA-110 forced photometry``;
* quality: the photometry ``flags`` words as a target-specific
  :class:`~lightcurvedb.models.QualityFlagArray` (no named bits).

The photometry is read from the session's ``products`` database and the core
rows are written to its lightcurvedb database. With one database for
everything they are the same. The pipeline's four files hold no core tables:
open the session with ``radio_session(state_databases(state), core=URL)``, a
migrated lightcurvedb database, and the light curves go there (nothing is
written to the pipeline's files). Without one, :func:`materialise_lightcurve`
raises :class:`CoreDatabaseError` before reading or writing anything, as it
does on a database without the core tables (a pipeline file that
``lcdb db upgrade`` has not adopted).
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import numpy.typing as npt
from astropy import constants as const
from astropy import units as u
from astropy.coordinates import get_body_barycentric
from astropy.time import Time
from sqlalchemy import inspect, select
from sqlalchemy.exc import UnboundExecutionError
from sqlalchemy.orm import Session

from lightcurvedb.missions._common import (
    ensure_catalog,
    ensure_instrument_path,
    ensure_mjd_utc_mission,
)
from lightcurvedb.models import (
    DataSet,
    Mission,
    MissionCatalog,
    Observation,
    PhotometricSource,
    QualityFlagArray,
    Target,
    TargetSpecificTime,
)
from lightcurvedb.radio.binding import RadioLayoutError
from lightcurvedb.radio.products import Photometry
from lightcurvedb.radio.variability import InvalidPhotometryError, validate_photometry

__all__ = [
    "CATALOG_NAME",
    "FLUX_UNIT",
    "INSTRUMENT_PATH",
    "MISSION_NAME",
    "PHOTOMETRIC_SOURCE",
    "CoreDatabaseError",
    "barycentric_julian_dates",
    "designation_number",
    "ensure_dsa110_mission",
    "materialise_lightcurve",
    "monitoring_observation",
    "nvss_catalog",
    "source_target",
]

#: The mission, its time format name (MJD, UTC) and its catalog of sources.
MISSION_NAME = "DSA-110"
TIME_FORMAT_NAME = "dsa110_mjd"
CATALOG_NAME = "NVSS"
CATALOG_DESCRIPTION = "NRAO VLA Sky Survey (1.4 GHz) source ids"
#: Instrument that made the monitoring observation.
INSTRUMENT_PATH = ("DSA-110", "Correlator")
#: Name and description of the :class:`~lightcurvedb.models.PhotometricSource`.
PHOTOMETRIC_SOURCE = ("DSA-110 forced photometry",
                      "Peak flux density measured on DSA-110 images at the NVSS position")
#: Unit of a materialised light curve's values and errors.
FLUX_UNIT = "mJy / beam"

#: ``NVSS JHHMMSS.s+DDMMSS``: the designations :func:`designation_number` spells out.
_NVSS = re.compile(r"NVSS J(\d{2})(\d{2})(\d{2})\.(\d)([+-])(\d{2})(\d{2})(\d{2})")
_HASHED = 1 << 62


class CoreDatabaseError(RadioLayoutError):
    """The session has no lightcurvedb database with the core tables to write light curves to."""


def _check_core_database(session: Session) -> None:
    try:
        bind = session.get_bind(Target)
    except UnboundExecutionError:
        raise CoreDatabaseError(
            "no lightcurvedb database for the core tables (target, data_set, ...): the session "
            "reaches only DSA-110 databases such as the pipeline's four files; open it with "
            "radio_session(..., core=URL) of a migrated lightcurvedb database") from None
    connection = session.connection(bind_arguments={"mapper": Target})
    if not inspect(connection).has_table(Target.__tablename__):
        url = bind.engine.url.render_as_string(hide_password=True)
        raise CoreDatabaseError(f"{url} has no lightcurvedb core tables (no "
                                f"{Target.__tablename__!r} table): run 'lcdb db upgrade' on it")


def designation_number(designation: str) -> int:
    r"""Return the catalog number that stands for a designation in :attr:`Target.name`.

    NVSS designations in the standard form ``NVSS JHHMMSS.s±DDMMSS`` map to
    the number whose decimal digits are the right ascension digits
    ``HHMMSSs``, a sign digit (0 for ``+``, 1 for ``-``) and the declination
    digits ``DDMMSS``: ``NVSS J123456.7+420312`` is ``12345670420312``. These
    numbers are below 10\ :sup:`14`. Any other string gets the first 62 bits
    of its BLAKE2b digest plus 2\ :sup:`62`, a number in [2\ :sup:`62`,
    2\ :sup:`63`) that cannot meet a spelled-out one. Both are stable across
    runs, machines and Python versions, and fit a signed 64-bit ``BIGINT``.

    Parameters
    ----------
    designation : str
        The designation, e.g. ``NVSS J123456.7+420312``; compared exactly
        (no case folding or whitespace trimming).

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If ``designation`` is empty.

    Examples
    --------
    >>> designation_number("NVSS J123456.7+420312")
    12345670420312
    >>> designation_number("NVSS J000012.3-000512")
    1231000512
    """
    if not designation:
        raise ValueError("a designation cannot be empty")
    match = _NVSS.fullmatch(designation)
    if match is not None:
        hh, mm, ss, tenth, sign, dd, am, asec = match.groups()
        return int(f"{hh}{mm}{ss}{tenth}{0 if sign == '+' else 1}{dd}{am}{asec}")
    digest = hashlib.blake2b(designation.encode("utf-8"), digest_size=8).digest()
    return _HASHED | (int.from_bytes(digest, "big") >> 2)


def ensure_dsa110_mission(session: Session) -> Mission:
    """Return the DSA-110 mission, creating it, its ``NVSS`` catalog and instruments if absent.

    The mission records times as MJD in UTC (days since JD 2400000.5, time
    format ``dsa110_mjd``), like HST and JWST; the instrument tree is
    ``DSA-110 > Correlator``.
    """
    mission = ensure_mjd_utc_mission(session, MISSION_NAME,
                                     "Deep Synoptic Array 110-antenna continuum monitoring",
                                     TIME_FORMAT_NAME)
    ensure_catalog(session, mission, CATALOG_NAME, CATALOG_DESCRIPTION)
    ensure_instrument_path(session, *INSTRUMENT_PATH)
    return mission


def nvss_catalog(session: Session) -> MissionCatalog:
    """Return the ``NVSS`` catalog of the DSA-110 mission (creating both if absent)."""
    mission = ensure_dsa110_mission(session)
    return ensure_catalog(session, mission, CATALOG_NAME, CATALOG_DESCRIPTION)


def monitoring_observation(session: Session) -> Observation:
    """Return the DSA-110 monitoring observation that light curves belong to, creating it if absent.

    It is the first plain :class:`~lightcurvedb.models.Observation` (no
    mission subclass) made with instrument ``DSA-110 > Correlator``.
    """
    ensure_dsa110_mission(session)
    instrument = ensure_instrument_path(session, *INSTRUMENT_PATH)
    observation = session.scalars(
        select(Observation).where(Observation.instrument_id == instrument.id,
                                  Observation.type == "observation")
        .order_by(Observation.id)).first()
    if observation is None:
        observation = Observation(instrument=instrument)
        session.add(observation)
        session.flush()
    return observation


def source_target(session: Session, source_id: str) -> Target:
    """Return the NVSS :class:`~lightcurvedb.models.Target` of a source, creating it if absent.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    source_id : str
        The NVSS id, e.g. ``NVSS J123456.7+420312`` (at most 64 characters).

    Raises
    ------
    ValueError
        If ``source_id`` is empty or longer than the designation column.
    """
    if not source_id or len(source_id) > 64:
        raise ValueError(f"source id {source_id!r}: expected 1 to 64 characters")
    catalog = nvss_catalog(session)
    target = session.scalar(select(Target).where(Target.catalog_id == catalog.id,
                                                 Target.designation == source_id))
    if target is None:
        target = Target(catalog=catalog, name=designation_number(source_id),
                        designation=source_id)
        session.add(target)
        session.flush()
    return target


def barycentric_julian_dates(mjd_utc: npt.ArrayLike, ra_deg: float, dec_deg: float
                             ) -> npt.NDArray[np.float64]:
    """Turn MJDs (UTC) of arrivals at Earth into barycentric Julian dates (TDB).

    The correction is the Rømer delay of the geocentre, ``r_earth · n / c``,
    with the Earth's barycentric position from astropy's built-in ephemeris and
    ``n`` the unit vector to (``ra_deg``, ``dec_deg``) in ICRS. It needs no
    Earth-orientation (IERS) tables, so it works for any date; leaving out
    the observatory's offset from the geocentre (at most 21 ms) and the
    Shapiro delay (microseconds) is negligible for radio monitoring cadences.

    Parameters
    ----------
    mjd_utc : array_like
        Modified Julian Dates in UTC.
    ra_deg, dec_deg : float
        ICRS position of the source.

    Returns
    -------
    numpy.ndarray
        Julian dates (TDB) at the solar-system barycentre, float64.
    """
    times = Time(np.atleast_1d(np.asarray(mjd_utc, dtype=np.float64)), format="mjd",
                 scale="utc").tdb
    earth = get_body_barycentric("earth", times, ephemeris="builtin")
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    direction = np.array([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])
    delay_days = (direction @ earth.xyz.to_value(u.m)) / const.c.to_value(u.m / u.s) / 86400.0
    return np.asarray(times.jd1 + (times.jd2 + delay_days), dtype=np.float64)


def _photometric_source(session: Session) -> PhotometricSource:
    name, description = PHOTOMETRIC_SOURCE
    source = session.scalar(select(PhotometricSource).where(PhotometricSource.name == name))
    if source is None:
        source = PhotometricSource(name=name, description=description)
        session.add(source)
        session.flush()
    return source


def materialise_lightcurve(session: Session, source_id: str) -> DataSet:
    """Write (or refresh) a source's photometry as a core light curve.

    Idempotent: the target, its time array, the light curve and its quality
    flags are looked up first and updated in place when the photometry has
    changed, so calling this again after new points arrived updates the same
    :class:`~lightcurvedb.models.DataSet` (same id). Points are ordered by
    MJD, then by photometry row id. See the module description for the
    layout.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        A session on one database, or a
        :func:`~lightcurvedb.radio.binding.radio_session` over the pipeline's
        files given ``core=`` (the database the light curve is written to).
    source_id : str
        The NVSS id of the source.

    Returns
    -------
    DataSet
        The light curve, flushed.

    Raises
    ------
    CoreDatabaseError
        If the session has no database with the core tables (see the module
        description); nothing is read or written.
    LookupError
        If the source has no photometry.
    InvalidPhotometryError
        If a point has no MJD, a NaN or infinite flux, or a missing, NaN,
        infinite, zero or negative error. Nothing is written then.
    """
    _check_core_database(session)
    rows = session.execute(
        select(Photometry.id, Photometry.mjd, Photometry.peak_jyb, Photometry.peak_err_jyb,
               Photometry.ra_deg, Photometry.dec_deg, Photometry.flags)
        .where(Photometry.source_id == source_id)
        .order_by(Photometry.mjd, Photometry.id)).all()
    if not rows:
        raise LookupError(f"no photometry for source {source_id!r}")
    ids = np.array([row.id for row in rows])
    mjd = np.array([np.nan if row.mjd is None else row.mjd for row in rows], dtype=np.float64)
    if not np.isfinite(mjd).all():
        bad = ", ".join(map(str, ids[~np.isfinite(mjd)][:5]))
        raise InvalidPhotometryError(source_id, f"no MJD in photometry row(s) {bad}")
    flux = np.array([row.peak_jyb for row in rows], dtype=np.float64) * 1000.0
    errors = np.array([np.nan if row.peak_err_jyb is None else row.peak_err_jyb
                       for row in rows], dtype=np.float64) * 1000.0
    validate_photometry(source_id, ids, flux, errors)
    flags = np.array([row.flags or 0 for row in rows], dtype=np.int64)
    bjd = barycentric_julian_dates(mjd, rows[-1].ra_deg, rows[-1].dec_deg)

    with session.begin_nested():
        target = source_target(session, source_id)
        observation = monitoring_observation(session)
        method = _photometric_source(session)
        times = session.scalar(select(TargetSpecificTime).where(
            TargetSpecificTime.target_id == target.id,
            TargetSpecificTime.observation_id == observation.id))
        if times is None:
            session.add(TargetSpecificTime(target=target, observation=observation,
                                           barycentric_julian_dates=bjd))
        elif not np.array_equal(times.barycentric_julian_dates, bjd):
            times.barycentric_julian_dates = bjd
        dataset = session.scalar(select(DataSet).where(
            DataSet.target_id == target.id, DataSet.observation_id == observation.id,
            DataSet.photometric_method_id == method.id,
            DataSet.processing_method_id.is_(None)).order_by(DataSet.id))
        if dataset is None:
            dataset = DataSet(target=target, observation=observation, photometry_source=method,
                              unit=FLUX_UNIT, values=flux, errors=errors)
            session.add(dataset)
        else:
            if not np.array_equal(dataset.values, flux):
                dataset.values = flux
            if dataset.errors is None or not np.array_equal(dataset.errors, errors):
                dataset.errors = errors
            dataset.unit = FLUX_UNIT
        quality = session.scalar(select(QualityFlagArray).where(
            QualityFlagArray.type == "base_quality_flag",
            QualityFlagArray.observation_id == observation.id,
            QualityFlagArray.target_id == target.id))
        if quality is None:
            session.add(QualityFlagArray(observation=observation, target=target,
                                         quality_flags=flags))
        elif not np.array_equal(quality.quality_flags, flags):
            quality.quality_flags = flags
        session.flush()
    return dataset
