"""Cone searches without an extension: exact distances and the bounding box of a cone.

Both cone searches (:func:`lightcurvedb.cone_search` on targets and
:func:`lightcurvedb.radio.catalog.cone_search` on DSA-110 sources) select
candidates by an indexed declination band and RA window when q3c is not in use
(SQLite, PostgreSQL without q3c), then keep exactly the rows whose great-circle
distance (:func:`angular_separation_deg`) is within the radius, so every backend
gives the same answer.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, and_, func, or_
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import QueryableAttribute

__all__ = ["EDGE_DEG", "angular_separation_deg", "check_cone", "cone_condition", "cone_window"]

_Column = ColumnElement[Any] | QueryableAttribute[Any]

#: Margin (deg) added to a cone's box and to q3c's radius so that rows exactly on
#: the edge are candidates; the exact distance decides.
EDGE_DEG = 1e-8


def angular_separation_deg(ra1: npt.ArrayLike, dec1: npt.ArrayLike, ra2: npt.ArrayLike,
                           dec2: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Return the great-circle distance in degrees (Vincenty's formula: exact at all separations).

    Parameters
    ----------
    ra1, dec1, ra2, dec2 : array_like
        Positions in degrees; broadcast against each other.

    Returns
    -------
    numpy.ndarray of float64
        Separations in degrees, in [0, 180].
    """
    a1, d1, a2, d2 = (np.radians(np.asarray(x, dtype=np.float64)) for x in (ra1, dec1, ra2, dec2))
    dra = a2 - a1
    num1 = np.cos(d2) * np.sin(dra)
    num2 = np.cos(d1) * np.sin(d2) - np.sin(d1) * np.cos(d2) * np.cos(dra)
    den = np.sin(d1) * np.sin(d2) + np.cos(d1) * np.cos(d2) * np.cos(dra)
    return np.asarray(np.degrees(np.arctan2(np.hypot(num1, num2), den)), dtype=np.float64)


def check_cone(ra: float, dec: float, radius_deg: float) -> float:
    """Check a cone and return its RA in [0, 360).

    Raises
    ------
    ValueError
        For a non-finite centre, a Dec outside [-90, 90] or a radius outside (0, 180].
    """
    if not (math.isfinite(ra) and math.isfinite(dec) and abs(dec) <= 90.0):
        raise ValueError(f"cone centre ({ra}, {dec}) is not a position on the sky")
    if not (math.isfinite(radius_deg) and 0.0 < radius_deg <= 180.0):
        raise ValueError(f"cone radius {radius_deg} deg: expected a value in (0, 180]")
    return ra % 360.0


def cone_window(ra_column: _Column, dec_column: _Column, ra: float, dec: float,
                radius_deg: float) -> ColumnElement[bool]:
    """Return the condition selecting the bounding box of a cone on two columns.

    The declination band ``dec ± radius`` uses an index on the declination
    column; the RA window is the cone's widest extent at its declination
    (``asin(sin r / cos dec)``), split in two where it crosses RA = 0, and left
    out when the cone reaches a pole.

    Parameters
    ----------
    ra_column, dec_column : column expression
        Columns holding RA in [0, 360) and Dec in degrees.
    ra : float
        The cone's centre RA (deg), as :func:`check_cone` returns it.
    dec : float
        The cone's centre Dec (deg).
    radius_deg : float
        The cone's radius (deg).
    """
    band = dec_column.between(dec - radius_deg - EDGE_DEG, dec + radius_deg + EDGE_DEG)
    if abs(dec) + radius_deg >= 90.0:
        return band
    half = math.degrees(math.asin(min(1.0, math.sin(math.radians(radius_deg))
                                      / math.cos(math.radians(dec))))) + EDGE_DEG
    if half >= 180.0:
        return band
    low, high = ra - half, ra + half
    if low < 0.0:
        window = or_(ra_column >= low + 360.0, ra_column <= high)
    elif high >= 360.0:
        window = or_(ra_column >= low, ra_column <= high - 360.0)
    else:
        window = and_(ra_column >= low, ra_column <= high)
    return and_(band, window)


def cone_condition(dialect: Dialect, ra_column: _Column, dec_column: _Column, ra: float,
                   dec: float, radius_deg: float) -> ColumnElement[bool]:
    """Return the candidate condition of a cone on ``dialect``: q3c's, or :func:`cone_window`.

    On a PostgreSQL whose q3c index is in use
    (:func:`~lightcurvedb.core.extensions.q3c_cones`) this is
    ``q3c_radial_query`` with the radius widened by :data:`EDGE_DEG`;
    elsewhere the indexed bounding box. Either way the caller keeps the rows
    whose :func:`angular_separation_deg` is within the radius.
    """
    from lightcurvedb.core.extensions import q3c_cones

    if q3c_cones(dialect):
        return func.q3c_radial_query(ra_column, dec_column, ra, dec, radius_deg + EDGE_DEG)
    return cone_window(ra_column, dec_column, ra, dec, radius_deg)
