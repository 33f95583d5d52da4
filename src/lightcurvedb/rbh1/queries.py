"""Reading RBH-1 zones 1-3 from Python: the seed's views and functions, and footprint searches.

Migration 0004 creates four views (:data:`VIEW_NAMES`) on both backends and,
on PostgreSQL, two SQL functions (:data:`FUNCTION_NAMES`). The helpers here
build the same queries with SQLAlchemy from the tables themselves, so they
give the same rows, in the same order, on SQLite and PostgreSQL, and work on
a database without the views:

============================== =========================================
Helper                         SQL object it mirrors
============================== =========================================
:func:`gold_sample`            ``rbh1.view_gold_sample``
:func:`kinematic_gradient`     ``rbh1.view_kinematic_gradient``
:func:`mcmc_inventory`         ``rbh1.view_mcmc_inventory``
:func:`metallicity_profile`    ``rbh1.view_metallicity_profile``
:func:`get_spaxel_lines`       ``rbh1.get_spaxel_lines(spaxel_id)``
:func:`get_spaxels_in_region`  ``rbh1.get_spaxels_in_region(region)``
============================== =========================================

:func:`footprints_containing` and :func:`overlapping_footprints` search the
zone-1 WCS footprints with :class:`~lightcurvedb.core.geometry.polygon_contains`
and :class:`~lightcurvedb.core.geometry.polygons_intersect` (PostGIS on a
PostgreSQL that has it, PL/pgSQL on one without, their Python twins on
SQLite), after a bounding-box prefilter on the indexed
``ra_min``/``ra_max``/``dec_min``/``dec_max`` columns; the answers are the same
in every form. :func:`count_invalid_footprints` is the seed's
``ST_IsValid`` check, which runs as written only with PostGIS.

Line names are ordered byte-wise (``COLLATE "C"`` on PostgreSQL, SQLite's
default), so ``Halpha`` sorts before ``[NII]6583`` whatever the database's
locale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Executable, Row, and_, func, literal, select
from sqlalchemy.orm import Session, aliased

from lightcurvedb.core.geometry import (
    SkyPolygon,
    polygon_contains,
    polygon_is_valid,
    polygons_intersect,
)
from lightcurvedb.core.types import SkyPolygonType
from lightcurvedb.rbh1.enums import GeometricRegion, QualityFlag
from lightcurvedb.rbh1.zones01 import WCSSolution
from lightcurvedb.rbh1.zones23 import (
    EmissionLine,
    IFUSpaxel,
    MCMCMetadata,
    MCMCParameterSummary,
    PhysicalProperties,
    RegionOfInterest,
)

__all__ = [
    "FUNCTION_NAMES",
    "GOLD_SAMPLE_LINE",
    "VIEW_NAMES",
    "count_invalid_footprints",
    "footprints_containing",
    "get_spaxel_lines",
    "get_spaxels_in_region",
    "gold_sample",
    "kinematic_gradient",
    "mcmc_inventory",
    "metallicity_profile",
    "overlapping_footprints",
]

#: The views of migration 0004 (``rbh1.<name>`` on PostgreSQL, ``<name>`` on SQLite).
VIEW_NAMES = ("view_gold_sample", "view_kinematic_gradient", "view_mcmc_inventory",
              "view_metallicity_profile")
#: The SQL functions of migration 0004 (``rbh1.<name>``, PostgreSQL only).
FUNCTION_NAMES = ("get_spaxel_lines", "get_spaxels_in_region")
#: The line :func:`gold_sample` (and ``view_gold_sample``) joins to each spaxel.
GOLD_SAMPLE_LINE = "Halpha"


def _bytewise(session: Session, column: Any) -> ColumnElement[Any]:
    """Order ``column`` by bytes: ``COLLATE "C"`` on PostgreSQL; SQLite's default already is."""
    if session.get_bind().dialect.name == "postgresql":
        return column.collate("C")  # type: ignore[no-any-return]
    return column  # type: ignore[no-any-return]


def _rows(session: Session, statement: Executable) -> list[Row[Any]]:
    return list(session.execute(statement).all())


# -- the views ---------------------------------------------------------------------------------

def gold_sample(session: Session) -> list[Row[Any]]:
    """Return the rows of ``view_gold_sample``: GOLD spaxels with their Hα fit and properties.

    One row per spaxel of quality ``GOLD``, ordered by ``spaxel_id``; the
    ``halpha_*`` columns come from its ``Halpha`` line fit and the last six
    from its physical properties, NULL (``None``) where it has none yet.

    Returns
    -------
    list of sqlalchemy.engine.Row
        Columns ``spaxel_id, wcs_id, x, y, ra, dec, region,
        distance_from_host_kpc, snr_median, halpha_flux, halpha_flux_err,
        halpha_velocity_kms, halpha_velocity_err_kms, halpha_sigma_kms,
        halpha_snr, halpha_fit_quality, metallicity_12logoh, metallicity_err,
        extinction_av, electron_density_cm3, sfr_msun_yr, method``.
    """
    s, e, pp = IFUSpaxel, EmissionLine, PhysicalProperties
    statement = (
        select(s.spaxel_id, s.wcs_id, s.x, s.y, s.ra, s.dec, s.region,
               s.distance_from_host_kpc, s.snr_median,
               e.flux.label("halpha_flux"), e.flux_err.label("halpha_flux_err"),
               e.velocity_kms.label("halpha_velocity_kms"),
               e.velocity_err_kms.label("halpha_velocity_err_kms"),
               e.sigma_kms.label("halpha_sigma_kms"), e.snr.label("halpha_snr"),
               e.fit_quality.label("halpha_fit_quality"),
               pp.metallicity_12logoh, pp.metallicity_err, pp.extinction_av,
               pp.electron_density_cm3, pp.sfr_msun_yr, pp.method)
        .outerjoin(e, and_(e.spaxel_id == s.spaxel_id, e.line_name == GOLD_SAMPLE_LINE))
        .outerjoin(pp, pp.spaxel_id == s.spaxel_id)
        .where(s.quality == QualityFlag.GOLD)
        .order_by(s.spaxel_id))
    return _rows(session, statement)


def kinematic_gradient(session: Session, line_name: str | None = "Halpha") -> list[Row[Any]]:
    """Return the rows of ``view_kinematic_gradient`` for one line: velocity against distance.

    Only ``GOLD`` and ``SILVER`` fits of spaxels with a projected distance,
    ordered by distance from the host (then spaxel, then line name).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        The database.
    line_name : str or None, optional
        The line (default ``Halpha``); ``None`` for every line, like the view.

    Returns
    -------
    list of sqlalchemy.engine.Row
        Columns ``spaxel_id, line_name, region, distance_from_host_kpc,
        velocity_kms, velocity_err_kms, sigma_kms, snr, fit_quality``.
    """
    s, e = IFUSpaxel, EmissionLine
    statement = (
        select(s.spaxel_id, e.line_name, s.region, s.distance_from_host_kpc,
               e.velocity_kms, e.velocity_err_kms, e.sigma_kms, e.snr, e.fit_quality)
        .join(s, s.spaxel_id == e.spaxel_id)
        .where(e.fit_quality.in_([QualityFlag.GOLD, QualityFlag.SILVER]),
               s.distance_from_host_kpc.is_not(None))
        .order_by(s.distance_from_host_kpc, s.spaxel_id, _bytewise(session, e.line_name)))
    if line_name is not None:
        statement = statement.where(e.line_name == line_name)
    return _rows(session, statement)


def mcmc_inventory(session: Session) -> list[Row[Any]]:
    """Return the rows of ``view_mcmc_inventory``: every MCMC run and how far it got.

    One row per run, ordered by ``mcmc_id``. ``region`` is the fitted region's
    :class:`~lightcurvedb.rbh1.enums.GeometricRegion`, or the fitted spaxel's;
    ``n_parameters`` counts its posterior summaries and ``max_r_hat`` is the
    worst Gelman-Rubin statistic among them.

    Returns
    -------
    list of sqlalchemy.engine.Row
        Columns ``mcmc_id, spaxel_id, region_id, region_name, region,
        model_name, n_walkers, n_steps, n_burn, acceptance_fraction,
        converged, n_parameters, max_r_hat, run_id``.
    """
    m, s, r, ps = MCMCMetadata, IFUSpaxel, RegionOfInterest, MCMCParameterSummary
    n_parameters = (select(func.count()).select_from(ps).where(ps.mcmc_id == m.mcmc_id)
                    .scalar_subquery())
    max_r_hat = select(func.max(ps.r_hat)).where(ps.mcmc_id == m.mcmc_id).scalar_subquery()
    statement = (
        select(m.mcmc_id, m.spaxel_id, m.region_id, r.name.label("region_name"),
               func.coalesce(r.region, s.region).label("region"), m.model_name,
               m.n_walkers, m.n_steps, m.n_burn, m.acceptance_fraction, m.converged,
               n_parameters.label("n_parameters"), max_r_hat.label("max_r_hat"), m.run_id)
        .outerjoin(s, s.spaxel_id == m.spaxel_id)
        .outerjoin(r, r.region_id == m.region_id)
        .order_by(m.mcmc_id))
    return _rows(session, statement)


def metallicity_profile(session: Session) -> list[Row[Any]]:
    """Return the rows of ``view_metallicity_profile``: 12 + log(O/H) against distance.

    Spaxels with a metallicity and a projected distance, ``REJECTED`` ones
    left out, ordered by distance from the host (then spaxel).

    Returns
    -------
    list of sqlalchemy.engine.Row
        Columns ``spaxel_id, region, distance_from_host_kpc,
        metallicity_12logoh, metallicity_err, method, quality``.
    """
    s, pp = IFUSpaxel, PhysicalProperties
    statement = (
        select(s.spaxel_id, s.region, s.distance_from_host_kpc, pp.metallicity_12logoh,
               pp.metallicity_err, pp.method, s.quality)
        .join(s, s.spaxel_id == pp.spaxel_id)
        .where(pp.metallicity_12logoh.is_not(None), s.distance_from_host_kpc.is_not(None),
               s.quality != QualityFlag.REJECTED)
        .order_by(s.distance_from_host_kpc, s.spaxel_id))
    return _rows(session, statement)


# -- the functions -----------------------------------------------------------------------------

def get_spaxel_lines(session: Session, spaxel_id: int) -> list[Row[Any]]:
    """Return the rows of ``rbh1.get_spaxel_lines(spaxel_id)``: a spaxel's line fits.

    Ordered by line name (byte-wise); empty for a spaxel without fits or an
    unknown id.

    Returns
    -------
    list of sqlalchemy.engine.Row
        Columns ``line_id, line_name, rest_wavelength_um,
        observed_wavelength_um, flux, flux_err, velocity_kms,
        velocity_err_kms, sigma_kms, snr, fit_quality, run_id``.
    """
    e = EmissionLine
    statement = (
        select(e.line_id, e.line_name, e.rest_wavelength_um, e.observed_wavelength_um,
               e.flux, e.flux_err, e.velocity_kms, e.velocity_err_kms, e.sigma_kms, e.snr,
               e.fit_quality, e.run_id)
        .where(e.spaxel_id == spaxel_id)
        .order_by(_bytewise(session, e.line_name)))
    return _rows(session, statement)


def get_spaxels_in_region(session: Session, region: GeometricRegion | str
                          ) -> list[IFUSpaxel]:
    """Return the spaxels of ``rbh1.get_spaxels_in_region(region)``, ordered by ``spaxel_id``.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        The database.
    region : GeometricRegion or str
        E.g. ``GeometricRegion.WAKE_INNER`` or ``"WAKE_INNER"``; an unknown
        name raises :class:`ValueError`.
    """
    region = GeometricRegion(region)
    statement = (select(IFUSpaxel).where(IFUSpaxel.region == region)
                 .order_by(IFUSpaxel.spaxel_id))
    return list(session.scalars(statement).all())


# -- footprints --------------------------------------------------------------------------------

def footprints_containing(session: Session, ra: float, dec: float) -> list[WCSSolution]:
    """Return the WCS solutions whose footprint contains the sky position (``ra``, ``dec``).

    A bounding-box test on the ``ra_min``/``ra_max``/``dec_min``/``dec_max``
    columns first, then :class:`~lightcurvedb.core.geometry.polygon_contains`
    on the footprint. Ordered by ``wcs_id``.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        The database.
    ra : float
        Right ascension of the position (deg).
    dec : float
        Declination of the position (deg).
    """
    w = WCSSolution
    ra, dec = float(ra), float(dec)
    statement = (
        select(w)
        .where(w.ra_min <= ra, w.ra_max >= ra, w.dec_min <= dec, w.dec_max >= dec,
               polygon_contains(w.footprint, ra, dec))
        .order_by(w.wcs_id))
    return list(session.scalars(statement).all())


def overlapping_footprints(session: Session,
                           polygon_or_wcs_id: SkyPolygon | Sequence[tuple[float, float]]
                           | WCSSolution | int) -> list[WCSSolution]:
    """Return the WCS solutions whose footprint shares a point with a polygon or another footprint.

    Bounding boxes are compared first, then
    :class:`~lightcurvedb.core.geometry.polygons_intersect` on the footprints.
    Ordered by ``wcs_id``.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        The database.
    polygon_or_wcs_id : SkyPolygon, sequence of pairs, WCSSolution or int
        A polygon, or a WCS solution (or its ``wcs_id``), which is left out of
        the result.

    Raises
    ------
    LookupError
        If ``polygon_or_wcs_id`` is a ``wcs_id`` that does not exist.
    """
    w = WCSSolution
    if isinstance(polygon_or_wcs_id, WCSSolution | int):
        wcs_id = (polygon_or_wcs_id.wcs_id if isinstance(polygon_or_wcs_id, WCSSolution)
                  else polygon_or_wcs_id)
        if session.get(w, wcs_id) is None:
            raise LookupError(f"no WCS solution with wcs_id={wcs_id}")
        other = aliased(w)
        statement = (
            select(w)
            .join(other, and_(other.wcs_id == wcs_id, w.wcs_id != other.wcs_id,
                              w.ra_max >= other.ra_min, w.ra_min <= other.ra_max,
                              w.dec_max >= other.dec_min, w.dec_min <= other.dec_max,
                              polygons_intersect(w.footprint, other.footprint)))
            .order_by(w.wcs_id))
        return list(session.scalars(statement).all())
    polygon = (polygon_or_wcs_id if isinstance(polygon_or_wcs_id, SkyPolygon)
               else SkyPolygon(tuple(polygon_or_wcs_id)))
    ra_min, dec_min, ra_max, dec_max = polygon.bounds
    statement = (
        select(w)
        .where(w.ra_max >= ra_min, w.ra_min <= ra_max, w.dec_max >= dec_min,
               w.dec_min <= dec_max,
               polygons_intersect(w.footprint, literal(polygon, SkyPolygonType())))
        .order_by(w.wcs_id))
    return list(session.scalars(statement).all())


def count_invalid_footprints(session: Session) -> int:
    """Count the WCS solutions whose footprint is not a valid polygon, on any database.

    The seed's ``SELECT COUNT(*) FROM rbh1.wcs_solutions WHERE NOT
    ST_IsValid(footprint)`` needs PostGIS; this uses
    :class:`~lightcurvedb.core.geometry.polygon_is_valid`, which is
    ``ST_IsValid`` with PostGIS and :meth:`SkyPolygon.is_valid
    <lightcurvedb.core.geometry.SkyPolygon.is_valid>`'s twins elsewhere.
    """
    w = WCSSolution
    statement = select(func.count()).select_from(w).where(~polygon_is_valid(w.footprint))
    return int(session.scalar(statement) or 0)
