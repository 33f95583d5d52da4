r"""Variability statistics of DSA-110 sources, ESE candidates and the alert log.

:func:`update_variability` recomputes ``variability_stats`` rows from the
``photometry`` table, for the sources whose photometry changed since their
statistics were computed. With fluxes :math:`f_i` and 1-σ errors
:math:`\sigma_i` in mJy (``peak_jyb`` and ``peak_err_jyb`` times 1000):

* ``mean_flux_mjy``, ``std_flux_mjy``, ``min_flux_mjy``, ``max_flux_mjy``: the
  plain mean, the sample standard deviation (``ddof=1``, NULL for one point),
  minimum and maximum of :math:`f_i`;
* ``chi2_nu``: :math:`\sum_i ((f_i - \mu_w)/\sigma_i)^2 / (n - 1)`, the reduced
  χ² of the best constant model, the error-weighted mean
  :math:`\mu_w = \sum_i f_i \sigma_i^{-2} / \sum_i \sigma_i^{-2}` (NULL for one
  point);
* ``sigma_deviation``: :math:`\max_i |f_i - \mu_w| / \sigma_i`;
* ``ra_deg``, ``dec_deg``, ``nvss_flux_mjy`` of the latest measurement (the
  latest non-NULL one for the NVSS flux), ``last_measured_at`` and
  ``last_mjd`` the largest ``measured_at`` and ``mjd``, ``updated_at`` now.

:func:`flag_ese_candidates` then opens an ``ese_candidates`` row for each
source above the thresholds that has no active candidate yet, and
:func:`record_alert` logs an alert in ``alert_history``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Float, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from lightcurvedb.bulk import upsert_rows
from lightcurvedb.radio.products import AlertHistory, ESECandidate, Photometry, VariabilityStats

__all__ = [
    "ALERT_TYPES",
    "DEFAULT_CHI2_THRESHOLD",
    "DEFAULT_MIN_OBS",
    "DEFAULT_SIGMA_THRESHOLD",
    "SEVERITIES",
    "FluxStatistics",
    "InvalidPhotometryError",
    "flag_ese_candidates",
    "flux_statistics",
    "record_alert",
    "stale_sources",
    "update_variability",
    "validate_photometry",
]

#: Default thresholds of :func:`flag_ese_candidates`: reduced χ² and max deviation (σ).
DEFAULT_CHI2_THRESHOLD = 5.0
DEFAULT_SIGMA_THRESHOLD = 5.0
#: Fewest measurements a source needs before it can be flagged.
DEFAULT_MIN_OBS = 3
#: Accepted ``alert_history.alert_type`` and ``severity`` values (the seed's).
ALERT_TYPES = ("ese_candidate", "calibrator_missing", "system_error")
SEVERITIES = ("info", "warning", "critical")


class InvalidPhotometryError(ValueError):
    """A source's photometry cannot be used: a non-finite flux or an unusable error.

    Parameters
    ----------
    source_id : str
        The source.
    reason : str
        What is wrong, naming the photometry rows.
    """

    def __init__(self, source_id: str, reason: str) -> None:
        super().__init__(source_id, reason)
        self.source_id = source_id
        self.reason = reason

    def __str__(self) -> str:
        return f"photometry of {self.source_id!r}: {self.reason}"


def validate_photometry(source_id: str, row_ids: npt.ArrayLike, flux: npt.ArrayLike,
                        errors: npt.ArrayLike) -> None:
    """Refuse fluxes that are NaN or infinite and errors that are not finite and positive.

    A missing (NULL) error counts as NaN: SQLite stores NaN as NULL.

    Raises
    ------
    InvalidPhotometryError
        Naming up to five offending photometry row ids.
    """
    ids = np.asarray(row_ids)
    flux_arr = np.asarray(flux, dtype=np.float64)
    err_arr = np.asarray(errors, dtype=np.float64)
    for bad, what in ((~np.isfinite(flux_arr), "NaN or infinite flux"),
                      (~(np.isfinite(err_arr) & (err_arr > 0)),
                       "missing, NaN, infinite, zero or negative error")):
        if bad.any():
            listed = ", ".join(map(str, ids[bad][:5]))
            more = f" and {int(bad.sum()) - 5} more" if bad.sum() > 5 else ""
            raise InvalidPhotometryError(source_id, f"{what} in photometry row(s) {listed}{more}")


@dataclass(frozen=True)
class FluxStatistics:
    """Variability statistics of one light curve (fluxes and errors in mJy)."""

    n_obs: int
    mean: float
    std: float | None
    minimum: float
    maximum: float
    weighted_mean: float
    chi2_nu: float | None
    sigma_deviation: float


def flux_statistics(flux: npt.ArrayLike, errors: npt.ArrayLike) -> FluxStatistics:
    """Compute the statistics of one light curve (see the module description).

    Parameters
    ----------
    flux, errors : array_like
        At least one flux and its positive, finite 1-σ error.
    """
    f = np.asarray(flux, dtype=np.float64)
    s = np.asarray(errors, dtype=np.float64)
    if f.size == 0 or f.shape != s.shape:
        raise ValueError(f"need equal, non-zero numbers of fluxes and errors, got {f.shape} "
                         f"and {s.shape}")
    weights = 1.0 / s**2
    weighted_mean = float(np.sum(weights * f) / np.sum(weights))
    z = (f - weighted_mean) / s
    n = int(f.size)
    return FluxStatistics(
        n_obs=n, mean=float(np.mean(f)), std=float(np.std(f, ddof=1)) if n > 1 else None,
        minimum=float(np.min(f)), maximum=float(np.max(f)), weighted_mean=weighted_mean,
        chi2_nu=float(np.sum(z**2) / (n - 1)) if n > 1 else None,
        sigma_deviation=float(np.max(np.abs(z))))


def stale_sources(session: Session) -> list[str]:
    """Return the sources whose statistics miss photometry, sorted.

    Stale: no ``variability_stats`` row, or its ``n_obs`` differs from the
    number of photometry rows, or a photometry row was measured after its
    ``last_measured_at``.
    """
    measured = type_coerce(Photometry.measured_at, Float)
    counts = (select(Photometry.source_id, func.count(Photometry.id).label("n"),
                     func.max(measured).label("last"))
              .group_by(Photometry.source_id).subquery())
    stats = VariabilityStats
    stmt = (select(counts.c.source_id)
            .outerjoin(stats, stats.source_id == counts.c.source_id)
            .where(or_(stats.source_id.is_(None), stats.n_obs.is_(None),
                       stats.n_obs != counts.c.n, stats.last_measured_at.is_(None),
                       counts.c.last > type_coerce(stats.last_measured_at, Float)))
            .order_by(counts.c.source_id))
    return list(session.scalars(stmt))


def _sources_to_update(session: Session, source_ids: Iterable[str] | None,
                       since: dt.datetime | None) -> list[str]:
    if source_ids is None and since is None:
        return stale_sources(session)
    if isinstance(source_ids, str):
        source_ids = [source_ids]
    stmt = select(Photometry.source_id).distinct()
    if source_ids is not None:
        stmt = stmt.where(Photometry.source_id.in_(sorted(set(source_ids))))
    if since is not None:
        stmt = stmt.where(Photometry.measured_at > since)
    return sorted(session.scalars(stmt))


def _stats_row(source_id: str, rows: list[Any], now: dt.datetime) -> dict[str, Any]:
    ids = np.array([row.id for row in rows])
    flux = np.array([row.peak_jyb for row in rows], dtype=np.float64) * 1000.0
    errors = np.array([np.nan if row.peak_err_jyb is None else row.peak_err_jyb
                       for row in rows], dtype=np.float64) * 1000.0
    validate_photometry(source_id, ids, flux, errors)
    stats = flux_statistics(flux, errors)
    latest = rows[-1]  # ordered by measured_at, id
    mjds = [row.mjd for row in rows if row.mjd is not None]
    nvss = [row.nvss_flux_mjy for row in rows if row.nvss_flux_mjy is not None]
    return {"source_id": source_id, "ra_deg": latest.ra_deg, "dec_deg": latest.dec_deg,
            "nvss_flux_mjy": nvss[-1] if nvss else None, "n_obs": stats.n_obs,
            "mean_flux_mjy": stats.mean, "std_flux_mjy": stats.std,
            "min_flux_mjy": stats.minimum, "max_flux_mjy": stats.maximum,
            "chi2_nu": stats.chi2_nu, "sigma_deviation": stats.sigma_deviation,
            "last_measured_at": latest.measured_at, "last_mjd": max(mjds) if mjds else None,
            "updated_at": now}


def update_variability(session: Session, *, source_ids: Iterable[str] | None = None,
                       since: dt.datetime | None = None, now: dt.datetime | None = None,
                       chunk_size: int = 500) -> int:
    """Recompute ``variability_stats`` from photometry, incrementally.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    source_ids : iterable of str, optional
        Recompute these sources (those with photometry), stale or not.
    since : datetime.datetime, optional
        Recompute the sources with a photometry row measured after this
        (timezone-aware) time. With ``source_ids`` too, both must hold.
    now : datetime.datetime, optional
        The ``updated_at`` to write (default: the current time).
    chunk_size : int, optional
        Sources read and written per batch.

    Returns
    -------
    int
        The number of sources whose statistics were written. Without
        ``source_ids`` and ``since`` only :func:`stale_sources` are.

    Raises
    ------
    InvalidPhotometryError
        If a source has a NaN/infinite flux or an unusable error; every source
        is checked before anything is written, so nothing is written then.
    """
    names = _sources_to_update(session, source_ids, since)
    if not names:
        return 0
    now = now or dt.datetime.now(dt.UTC)
    measured = type_coerce(Photometry.measured_at, Float).label("measured_at")
    records = []
    for start in range(0, len(names), chunk_size):
        chunk = names[start:start + chunk_size]
        rows = session.execute(
            select(Photometry.source_id, Photometry.id, Photometry.peak_jyb,
                   Photometry.peak_err_jyb, measured, Photometry.mjd, Photometry.ra_deg,
                   Photometry.dec_deg, Photometry.nvss_flux_mjy)
            .where(Photometry.source_id.in_(chunk))
            .order_by(Photometry.source_id, measured, Photometry.id)).all()
        for source_id, group in itertools.groupby(rows, key=lambda row: row.source_id):
            records.append(_stats_row(source_id, list(group), now))
    with session.begin_nested():
        # The products database's connection (the session may span the pipeline's files).
        connection = session.connection(bind_arguments={"mapper": VariabilityStats})
        upsert_rows(connection, VariabilityStats, records, conflict=["source_id"],
                    update="all", chunk_size=chunk_size)
    written = {record["source_id"] for record in records}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, VariabilityStats) and obj.source_id in written:
            session.expire(obj)
    return len(records)


def flag_ese_candidates(session: Session, *, chi2_threshold: float = DEFAULT_CHI2_THRESHOLD,
                        sigma_threshold: float = DEFAULT_SIGMA_THRESHOLD,
                        min_obs: int = DEFAULT_MIN_OBS, now: dt.datetime | None = None
                        ) -> list[ESECandidate]:
    """Open an ESE candidate for each variable source that has no active one.

    A source qualifies when its ``chi2_nu`` exceeds ``chi2_threshold`` (flag
    type ``variability``, significance = ``chi2_nu``) or, failing that, its
    ``sigma_deviation`` exceeds ``sigma_threshold`` (flag type
    ``rapid_change``, significance = ``sigma_deviation``), it has at least
    ``min_obs`` measurements, and no candidate of it has status ``active``.
    A dismissed or investigated source whose statistics stay high is flagged
    again. Run it from one process at a time: two concurrent runs could both
    see no active candidate.

    Returns
    -------
    list of ESECandidate
        The new candidates (flagged by ``auto``), by source id; flushed.
    """
    now = now or dt.datetime.now(dt.UTC)
    stats = VariabilityStats
    active = (select(ESECandidate.id)
              .where(ESECandidate.source_id == stats.source_id, ESECandidate.status == "active")
              .exists())
    rows = session.scalars(
        select(stats)
        .where(or_(stats.chi2_nu > chi2_threshold, stats.sigma_deviation > sigma_threshold),
               stats.n_obs >= min_obs, ~active)
        .order_by(stats.source_id)).all()
    candidates = []
    for row in rows:
        by_chi2 = row.chi2_nu is not None and row.chi2_nu > chi2_threshold
        significance = row.chi2_nu if by_chi2 else row.sigma_deviation
        assert significance is not None
        candidates.append(ESECandidate(
            source_id=row.source_id, flagged_at=now, flagged_by="auto",
            significance=significance, flag_type="variability" if by_chi2 else "rapid_change",
            status="active",
            notes=f"chi2_nu={row.chi2_nu} (threshold {chi2_threshold}), sigma_deviation="
                  f"{row.sigma_deviation} (threshold {sigma_threshold}), n_obs={row.n_obs}"))
    session.add_all(candidates)
    session.flush()
    return candidates


def record_alert(session: Session, source_id: str, message: str, *,
                 alert_type: str = "ese_candidate", severity: str = "warning",
                 channel: str | None = None, sent_at: dt.datetime | None = None,
                 success: bool = True, error_msg: str | None = None) -> AlertHistory:
    """Log an alert that was sent (or tried) in ``alert_history``.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    source_id : str
        The source the alert is about.
    message : str
        The text sent.
    alert_type : str, optional
        One of :data:`ALERT_TYPES`.
    severity : str, optional
        One of :data:`SEVERITIES`.
    channel : str, optional
        Where it went, e.g. ``#ese-alerts``.
    sent_at : datetime.datetime, optional
        When (default: now).
    success : bool, optional
        Whether delivery succeeded; give ``error_msg`` when it did not.
    error_msg : str, optional
        Why delivery failed.

    Raises
    ------
    ValueError
        For an unknown alert type or severity, or an empty message.
    """
    if alert_type not in ALERT_TYPES:
        raise ValueError(f"unknown alert type {alert_type!r}; expected one of {ALERT_TYPES}")
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}; expected one of {SEVERITIES}")
    if not message:
        raise ValueError("an alert needs a message")
    alert = AlertHistory(source_id=source_id, alert_type=alert_type, severity=severity,
                         message=message, sent_at=sent_at or dt.datetime.now(dt.UTC),
                         channel=channel, success=success, error_msg=error_msg)
    session.add(alert)
    session.flush()
    return alert
