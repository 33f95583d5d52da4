"""Targets on the sky: find a target by any of its names, and cone searches.

:func:`find_target` takes a name as a person types it -- ``"TIC 261136679"``,
``"tic261136679"``, a bare number, a designation (``"NVSS J123456+420312"``)
or an alias in another catalog (``"Gaia DR3 4676034939843043840"``) -- and
returns the one :class:`~lightcurvedb.models.Target` it names.
:func:`cone_search` returns the targets within a radius of a position as an
astropy :class:`~astropy.table.Table`, nearest first, in the style of
astroquery's results::

    import lightcurvedb
    with lightcurvedb.session() as s:
        star = lightcurvedb.find_target(s, "TIC 261136679")
        near = lightcurvedb.cone_search(s, "04h19m15.6s -64d03m28s", "5 arcmin")
        print(near["catalog", "name", "distance"])

Candidates come from an index: q3c's ``target_q3c_idx`` on a PostgreSQL that
has q3c, otherwise the declination band and RA window of the cone on
``ix_target_dec`` (:mod:`lightcurvedb.core.cones`); the exact great-circle
distance then decides, so every backend returns the same rows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Column, MaskedColumn, Table
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from lightcurvedb.core.cones import angular_separation_deg, check_cone, cone_condition
from lightcurvedb.models import MissionCatalog, Target, TargetAlias

__all__ = ["CONE_COLUMNS", "cone_search", "find_target", "list_targets", "parse_center",
           "parse_radius"]

#: The columns of :func:`cone_search`'s table: name -> (dtype, unit).
_CONE_TYPES = {"target_id": ("i8", None), "catalog": ("U64", None), "name": ("i8", None),
               "designation": ("U64", None), "ra": ("f8", u.deg), "dec": ("f8", u.deg),
               "magnitude": ("f8", u.mag), "magnitude_band": ("U16", None),
               "distance": ("f8", u.deg)}
#: The columns of :func:`cone_search`'s table, in order.
CONE_COLUMNS = tuple(_CONE_TYPES)
_MAYBE_MISSING = frozenset({"designation", "ra", "dec", "magnitude", "magnitude_band"})
_INT64_MAX = 2**63 - 1
_SEPARATORS = " \t:_-"
_SEXAGESIMAL = re.compile(r"[hms:]|\d\s+\d+\s+\d", re.IGNORECASE)


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _number(text: str) -> int | None:
    """Return ``text`` as a catalog number if it is one that a BIGINT column can hold."""
    text = text.strip()
    if not text.isdigit():
        return None
    value = int(text)
    return value if value <= _INT64_MAX else None


def _aliased_target_ids(session: Session, text: str) -> set[int]:
    """Ids of the targets an alias names: ``"Gaia DR3 4676..."`` or the alias name alone.

    Every split of ``text`` at a separator is tried as (alias catalog, alias
    name); the catalog matches without regard to case. One query, by name
    (the unique ``(name, catalog)`` index).
    """
    splits = {(text[:m.start()].lower(), text[m.end():])
              for m in re.finditer(r"[\s:]+", text)}
    names = {rest for _, rest in splits if rest} | {text}
    rows = session.execute(select(TargetAlias.target_id, TargetAlias.catalog, TargetAlias.name)
                           .where(TargetAlias.name.in_(names)))
    return {target_id for target_id, alias_catalog, alias_name in rows
            if alias_name == text or (alias_catalog.lower(), alias_name) in splits}


def find_target(session: Session, name: Any, catalog: str | None = None) -> Target:
    """Return the target that ``name`` names, by catalog number, designation or alias.

    Catalog names and alias catalogs are matched without regard to case, with
    or without a separator before the number (``"TIC 1"``, ``"tic1"``,
    ``"TIC:1"``).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        Where to look.
    name : str or int
        A catalog number (bare, or after its catalog's name), a designation,
        or an alias as ``"<alias catalog> <name>"`` (``"Gaia DR3 4676..."``).
    catalog : str, optional
        Look only in this mission catalog (for bare numbers and designations).

    Returns
    -------
    Target
        With its catalog and aliases loaded.

    Raises
    ------
    LookupError
        When nothing has that name, or when it names targets in more than one
        catalog (the message lists them: give the catalog); one line.

    Examples
    --------
    >>> with lightcurvedb.session() as s:                  # doctest: +SKIP
    ...     lightcurvedb.find_target(s, "TIC 25155310").coord
    """
    text = str(int(name)) if isinstance(name, (int, np.integer)) else str(name).strip()
    if not text:
        raise LookupError("no target named '' (give a catalog number, designation or alias)")
    only = None if catalog is None else _catalog_name(session, catalog)
    catalogs = {row.name.lower(): row for row in session.scalars(select(MissionCatalog))
                if only is None or row.name == only}
    ids = [row.id for row in catalogs.values()]
    conditions = []
    bare = _number(text)
    if bare is not None and ids:
        conditions.append(and_(Target.catalog_id.in_(ids), Target.name == bare))
    for key, row in catalogs.items():
        if text.lower().startswith(key) and len(text) > len(key):
            number = _number(text[len(key):].lstrip(_SEPARATORS))
            if number is not None:
                conditions.append(and_(Target.catalog_id == row.id, Target.name == number))
    if ids:
        conditions.append(and_(Target.catalog_id.in_(ids),
                               Target.designation.in_({text, text.upper()})))
    alias_ids = _aliased_target_ids(session, text)
    if alias_ids:
        conditions.append(Target.id.in_(alias_ids))
    found: Sequence[Target] = session.scalars(
        select(Target).where(or_(*conditions)).options(
            selectinload(Target.catalog), selectinload(Target.aliases))
        .order_by(Target.id)).all() if conditions else []
    if len(found) == 1:
        return found[0]
    if not found:
        where = f" in catalog {catalog}" if catalog else ""
        raise LookupError(f"no target named {text!r}{where} (looked for catalog numbers, "
                          "designations and aliases)")
    listed = ", ".join(f"{t.catalog.name} {t.name}" for t in found)
    raise LookupError(f"{text!r} names {len(found)} targets ({listed}): give the catalog, "
                      f"e.g. '{found[0].catalog.name} {found[0].name}'")


def parse_center(center: Any) -> tuple[float, float]:
    """Return a cone's centre as ICRS (RA, Dec) in degrees.

    Parameters
    ----------
    center : Target, SkyCoord, str or tuple
        A :class:`~lightcurvedb.models.Target` with a position, a
        :class:`~astropy.coordinates.SkyCoord` (any frame, transformed to
        ICRS), a string -- sexagesimal (``"04h19m15.6s -64d03m28s"``,
        ``"04:19:15.6 -64:03:28"``: RA in hours) or two numbers in degrees
        (``"64.815 -64.058"``) -- or a pair of numbers (deg) or angle
        quantities.

    Raises
    ------
    ValueError
        For anything that is not a position on the sky (one line).
    """
    if isinstance(center, Target):
        if center.ra is None or center.dec is None:
            raise ValueError(f"{center.catalog.name} {center.name} has no sky position")
        return float(center.ra), float(center.dec)
    try:
        if isinstance(center, SkyCoord):
            coord = center.icrs
        elif isinstance(center, str):
            parts = center.replace(",", " ").split()
            try:
                coord = SkyCoord(*map(float, parts), unit=u.deg, frame="icrs") \
                    if len(parts) == 2 else None
            except ValueError:
                coord = None
            if coord is None:
                unit = (u.hourangle, u.deg) if _SEXAGESIMAL.search(center) else (u.deg, u.deg)
                coord = SkyCoord(center, unit=unit, frame="icrs")
        else:
            ra, dec = center
            coord = SkyCoord(ra=u.Quantity(ra, u.deg), dec=u.Quantity(dec, u.deg), frame="icrs")
        ra_deg, dec_deg = float(coord.ra.deg), float(coord.dec.deg)
    except (ValueError, TypeError, u.UnitsError) as exc:
        raise ValueError(f"{center!r} is not a sky position: {_first_line(exc)}") from None
    if not coord.isscalar:
        raise ValueError(f"{center!r} is not a sky position: give one position, not "
                         f"{len(coord)}")
    if not (math.isfinite(ra_deg) and math.isfinite(dec_deg)):
        raise ValueError(f"{center!r} is not a sky position: not finite")
    return ra_deg % 360.0, dec_deg


def parse_radius(radius: Any) -> float:
    """Return a cone radius in degrees.

    Parameters
    ----------
    radius : float, Quantity or str
        A number (deg), an angle quantity (``2 * u.arcmin``) or a string with
        its unit (``"2 arcmin"``, ``"30 arcsec"``, ``"0.1 deg"``).

    Raises
    ------
    ValueError
        For something that is not an angle in (0, 180] deg (one line).
    """
    try:
        value = float(u.Quantity(radius, u.deg).to_value(u.deg)) \
            if isinstance(radius, (str, u.Quantity)) else float(radius)
    except (ValueError, TypeError, u.UnitsError) as exc:
        raise ValueError(f"radius {radius!r} is not an angle: {_first_line(exc)}") from None
    if not (math.isfinite(value) and 0.0 < value <= 180.0):
        raise ValueError(f"radius {radius!r}: expected an angle in (0, 180] deg")
    return value


def cone_search(session: Session, center: Any, radius: Any, *, catalog: str | None = None,
                limit: int | None = None) -> Table:
    """Return the targets within ``radius`` of ``center``, nearest first.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        Where to look.
    center : Target, SkyCoord, str or tuple
        As :func:`parse_center` takes it.
    radius : float, Quantity or str
        As :func:`parse_radius` takes it (a bare number is degrees).
    catalog : str, optional
        Only targets of this mission catalog (its name, any case).
    limit : int, optional
        At most this many rows (the nearest).

    Returns
    -------
    astropy.table.Table
        Columns :data:`CONE_COLUMNS`: ``ra``, ``dec`` and ``distance`` in deg,
        ``magnitude`` in mag, ``designation``/``magnitude``/``magnitude_band``
        masked where unknown (``meta`` holds the centre and radius in deg).
        Ordered by distance, then target id; identical on PostgreSQL (with or
        without q3c) and SQLite. Targets without a position are never returned.

    Raises
    ------
    ValueError
        For a centre or radius that is not one (one line).
    LookupError
        For an unknown ``catalog``.
    """
    ra, dec = parse_center(center)
    radius_deg = parse_radius(radius)
    ra = check_cone(ra, dec, radius_deg)
    stmt = select(Target.id, MissionCatalog.name, Target.name, Target.designation, Target.ra,
                  Target.dec, Target.magnitude, Target.magnitude_band).join(Target.catalog)
    if catalog is not None:
        stmt = stmt.where(MissionCatalog.name == _catalog_name(session, catalog))
    stmt = stmt.where(cone_condition(session.get_bind(Target).dialect, Target.ra, Target.dec, ra,
                                     dec, radius_deg))
    rows = session.execute(stmt).all()
    distance = angular_separation_deg(ra, dec, np.array([row[4] for row in rows], float),
                                      np.array([row[5] for row in rows], float))
    hits = sorted(((*row, float(d)) for d, row in zip(distance, rows, strict=True)
                   if d <= radius_deg), key=lambda hit: (hit[-1], hit[0]))[:limit]
    return _table(hits, CONE_COLUMNS,
                  {"center_ra": ra, "center_dec": dec, "radius": radius_deg})


def list_targets(session: Session, *, catalog: str | None = None,
                 limit: int | None = None) -> Table:
    """Return targets as a table: the columns of :func:`cone_search` but ``distance``.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        Where to read.
    catalog : str, optional
        Only this mission catalog (any case).
    limit : int, optional
        At most this many rows.

    Returns
    -------
    astropy.table.Table
        Ordered by catalog and number; ``meta["total"]`` counts every target
        the filter selects (the table may hold fewer, see ``limit``).
    """
    stmt = select(Target.id, MissionCatalog.name, Target.name, Target.designation, Target.ra,
                  Target.dec, Target.magnitude, Target.magnitude_band).join(Target.catalog)
    if catalog is not None:
        stmt = stmt.where(MissionCatalog.name == _catalog_name(session, catalog))
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.execute(stmt.order_by(MissionCatalog.name, Target.name).limit(limit)).all()
    return _table(rows, CONE_COLUMNS[:-1], {"total": total})


def _catalog_name(session: Session, catalog: str) -> str:
    known = {name.lower(): name for name in session.scalars(select(MissionCatalog.name))}
    if catalog.lower() not in known:
        listed = ", ".join(sorted(known.values())) or "none"
        raise LookupError(f"no catalog {catalog!r} in the database (catalogs: {listed})")
    return known[catalog.lower()]


def _table(rows: Sequence[Sequence[Any]], names: Sequence[str], meta: dict[str, Any]) -> Table:
    table = Table(meta=meta)
    for index, name in enumerate(names):
        dtype, unit = _CONE_TYPES[name]
        values = [row[index] for row in rows]
        data = np.array([("" if dtype[0] == "U" else 0) if value is None else value
                         for value in values], dtype=dtype)
        if name in _MAYBE_MISSING:
            table[name] = MaskedColumn(data, mask=[value is None for value in values],
                                       unit=unit)
        else:
            table[name] = Column(data, unit=unit)
    return table
