"""The light curves of one target as typed on the command line (``lcdb lc``).

:func:`parse_target` splits ``"TIC 261136679"`` into catalog and number;
:func:`select_lightcurves` finds the target (also by designation or alias,
:func:`lightcurvedb.find_target`), the processing and
photometry names without regard to case, and reads the light curves with
:func:`lightcurvedb.lightcurves`, turning every way of finding nothing into one
:class:`LookupError` line that says what is missing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lightcurvedb._clitools import require_schema
from lightcurvedb.lc.collection import LightCurveCollection
from lightcurvedb.lc.query import lightcurves, select_ids
from lightcurvedb.models import MissionCatalog, PhotometricSource, ProcessingMethod, Target
from lightcurvedb.sky import find_target

__all__ = ["parse_target", "select_lightcurves"]

#: Processing names taken for "no processing" (``processing="raw"`` of the API).
_RAW = ("raw", "sap", "none")
_TARGET = re.compile(r"^\s*(?P<catalog>.*?)[\s:_-]*(?P<number>\d+)\s*$")


def parse_target(text: str, catalog: str | None = None) -> tuple[str, int]:
    """Split a target as typed on the command line into catalog name and number.

    Parameters
    ----------
    text : str
        ``"TIC 261136679"``, ``"TIC261136679"``, ``"Gaia DR3 4660..."`` or a
        bare number.
    catalog : str, optional
        The catalog of a bare number (default ``"TIC"``); a name in ``text``
        must agree with it.

    Returns
    -------
    tuple of (str, int)
        The catalog name as typed and the catalog number.

    Raises
    ------
    ValueError
        If ``text`` does not end in a number, or names another catalog than
        ``catalog``.
    """
    match = _TARGET.match(text)
    if match is None:
        raise ValueError(f"TARGET must be a catalog name and number ('TIC 261136679') or a "
                         f"number, got {text!r}")
    named = match["catalog"].strip() or None
    if named and catalog and named.lower() != catalog.lower():
        raise ValueError(f"TARGET {text!r} names catalog {named!r} but --catalog is {catalog!r}")
    return named or catalog or "TIC", int(match["number"])


def _names(session: Session, model: type[Any], given: Sequence[str] | None, what: str,
           extra: Sequence[str] = ()) -> list[str] | None:
    """Return the stored names of ``model`` matching ``given`` without regard to case."""
    if not given:
        return None
    known = {name.lower(): name for name in session.scalars(select(model.name))}
    out = []
    for name in given:
        if name.lower() in known:
            out.append(known[name.lower()])
        elif name.lower() in _RAW and what == "processing":
            out.append("raw")
        elif name.lower() == "pdcsap" and what == "processing" and "pdc" in known:
            out.append(known["pdc"])
        else:
            choices = ", ".join([*extra, *sorted(known.values())]) or "none in the database"
            raise LookupError(f"unknown {what} {name!r}: known are {choices}")
    return out


def _catalog_and_number(session: Session, target: str, catalog: str | None) -> tuple[str, int]:
    """Check ``target`` as catalog name and number, raising LookupError for what is missing."""
    wanted, number = parse_target(target, catalog)
    catalogs = {name.lower(): name for name in session.scalars(select(MissionCatalog.name))}
    if wanted.lower() not in catalogs:
        known = ", ".join(sorted(catalogs.values())) or "none: load data first (lcdb demo)"
        raise LookupError(f"no catalog {wanted!r} in the database (catalogs: {known})")
    name = catalogs[wanted.lower()]
    found = session.scalar(select(func.count()).select_from(Target).join(Target.catalog)
                           .where(MissionCatalog.name == name, Target.name == number))
    if not found:
        raise LookupError(f"no target {name} {number} in the database")
    return name, number


def select_lightcurves(session: Session, target: str, *, catalog: str | None = None,
                       sector: Sequence[int] | None = None,
                       processing: Sequence[str] | None = None,
                       photometry: Sequence[str] | None = None,
                       best: bool = False) -> LightCurveCollection:
    """Return the light curves of one target that the ``lcdb lc`` options select.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        Where to read.
    target : str
        As :func:`parse_target` takes it, or a designation or alias
        (:func:`lightcurvedb.find_target`): ``"Gaia DR3 4623036143454223744"``.
    catalog : str, optional
        The catalog of a bare number (default ``"TIC"``).
    sector : sequence of int, optional
        Only these sectors.
    processing : sequence of str, optional
        Processing-method names (``"PDC"``, also ``"PDCSAP"``), or ``"raw"``
        (also ``"SAP"``, ``"none"``) for light curves without processing.
    photometry : sequence of str, optional
        Photometric-source names.
    best : bool, optional
        Keep the best light curve per target and observation
        (:class:`~lightcurvedb.lc.BestRule`).

    Returns
    -------
    LightCurveCollection
        Never empty.

    Raises
    ------
    LookupError
        For an unknown catalog, target, processing or photometry name, or when
        no light curve of the target matches the filters; the message is one
        line saying which.
    """
    require_schema(session)
    bare = target.strip().isdigit()
    try:  # catalog name and number, designation or alias (a bare number is in TIC by default)
        named = find_target(session, target, catalog=catalog or ("TIC" if bare else None))
        name, number = named.catalog.name, named.name
    except LookupError:
        name, number = _catalog_and_number(session, target, catalog)  # says what is missing
    filters: dict[str, Any] = {"sector": list(sector) if sector else None,
               "processing": _names(session, ProcessingMethod, processing, "processing",
                                    extra=("raw",)),
               "photometry": _names(session, PhotometricSource, photometry, "photometry")}
    curves = lightcurves(session, target=number, catalog=name, best=best, **filters)
    if not curves:
        said = ", ".join(f"{key} {', '.join(map(str, value))}" for key, value in filters.items()
                         if value)
        every = select_ids(target=number, catalog=name).subquery()
        total = session.scalar(select(func.count()).select_from(every))
        raise LookupError(f"no light curves of {name} {number} match {said or 'the filters'} "
                          f"(it has {total}: lcdb lc show {name} {number})")
    return curves
