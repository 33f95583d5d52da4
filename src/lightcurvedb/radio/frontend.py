"""The DSA-110 frontend's three queries (the seed schema's "Query Examples").

Each function builds the seed's SQL with SQLAlchemy, so it runs on
PostgreSQL (schema ``radio``) and SQLite alike, and returns the same rows as
the seed's SQL text run verbatim, with the same column names:

* :func:`active_ese_candidates`: active ESE candidates with their variability
  statistics, most significant first;
* :func:`flux_timeseries`: a source's flux time series with the image each
  point was measured on, as an :class:`astropy.table.Table`;
* :func:`recent_mosaics`: the newest mosaics.

Timestamps come back as timezone-aware :class:`datetime.datetime` (the seed's
SQL returns Unix seconds), and where the seed leaves the order of ties open
the row id breaks them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Executable, Row, select
from sqlalchemy.orm import Session

from lightcurvedb.radio.products import ESECandidate, Image, Mosaic, Photometry, VariabilityStats

if TYPE_CHECKING:
    from astropy.table import Table

__all__ = ["FLUX_TIMESERIES_COLUMNS", "active_ese_candidates", "flux_timeseries",
           "recent_mosaics"]

#: Columns of :func:`flux_timeseries`, as named by the seed's query.
FLUX_TIMESERIES_COLUMNS = ("mjd", "flux_mjy", "error_mjy", "snr", "field_name",
                           "image_noise_mjy")


def _rows(session: Session, statement: Executable) -> list[Row[Any]]:
    return list(session.execute(statement).all())


def active_ese_candidates(session: Session, limit: int = 50) -> list[Row[Any]]:
    """Return active ESE candidates with source details, highest significance first.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    limit : int, optional
        At most this many rows (the seed's 50).

    Returns
    -------
    list of sqlalchemy.engine.Row
        Columns ``source_id, ra_deg, dec_deg, mean_flux_mjy, nvss_flux_mjy,
        chi2_nu, sigma_deviation, n_obs, flagged_at, significance, status``.
    """
    e, v = ESECandidate, VariabilityStats
    stmt = (select(e.source_id, v.ra_deg, v.dec_deg, v.mean_flux_mjy, v.nvss_flux_mjy,
                   v.chi2_nu, v.sigma_deviation, v.n_obs, e.flagged_at, e.significance,
                   e.status)
            .join(v, e.source_id == v.source_id)
            .where(e.status == "active")
            .order_by(e.significance.desc(), e.id)
            .limit(limit))
    return _rows(session, stmt)


def flux_timeseries(session: Session, source_id: str) -> Table:
    """Return a source's flux time series, by MJD.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    source_id : str
        The NVSS id, e.g. ``NVSS J123456.7+420312``.

    Returns
    -------
    astropy.table.Table
        One row per photometry point (none if the source has none), columns
        :data:`FLUX_TIMESERIES_COLUMNS`: ``mjd`` (d), ``flux_mjy`` and
        ``error_mjy`` (``peak_jyb``, ``peak_err_jyb`` times 1000, mJy/beam),
        ``snr``, ``field_name`` (str, None when NULL) and ``image_noise_mjy``
        (mJy/beam). NULL numbers are NaN.
    """
    from astropy import units as u
    from astropy.table import Column, Table

    p, i = Photometry, Image
    stmt = (select(p.mjd, (p.peak_jyb * 1000).label("flux_mjy"),
                   (p.peak_err_jyb * 1000).label("error_mjy"), p.snr, i.field_name,
                   (i.noise_jy * 1000).label("image_noise_mjy"))
            .join(i, p.image_path == i.path)
            .where(p.source_id == source_id)
            .order_by(p.mjd.asc(), p.id))
    rows = session.execute(stmt).all()

    mjy_beam = u.mJy / u.beam
    units = (u.day, mjy_beam, mjy_beam, None, None, mjy_beam)
    table = Table(meta={"source_id": source_id})
    for index, (name, unit) in enumerate(zip(FLUX_TIMESERIES_COLUMNS, units, strict=True)):
        cells = [row[index] for row in rows]
        if name == "field_name":
            table[name] = np.array(cells, dtype=object)
        else:
            table[name] = Column(np.array([np.nan if c is None else c for c in cells],
                                          dtype=np.float64), unit=unit)
    return table


def recent_mosaics(session: Session, limit: int = 20) -> list[Row[Any]]:
    """Return the newest mosaics.

    Returns
    -------
    list of sqlalchemy.engine.Row
        Columns ``name, path, start_mjd, end_mjd, hours`` (integration time
        in hours), ``n_images, n_sources, noise_mjy`` (Jy to mJy) and
        ``thumbnail_path``; newest (``created_at``) first.
    """
    m = Mosaic
    stmt = (select(m.name, m.path, m.start_mjd, m.end_mjd,
                   (m.integration_sec / 3600.0).label("hours"), m.n_images, m.n_sources,
                   (m.noise_jy * 1000).label("noise_mjy"), m.thumbnail_path)
            .order_by(m.created_at.desc(), m.id.desc())
            .limit(limit))
    return _rows(session, stmt)
