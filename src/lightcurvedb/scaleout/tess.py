"""TESS SPOC light curves as a :class:`~lightcurvedb.scaleout.plan.MappedLoader`.

Groups by observation (:func:`tess_observation_key`), prepares the TESS
mission, TIC catalog, CCD tree, SAP/PDC definitions and the targets of all
files, and loads with :func:`lightcurvedb.loaders.tess.load_paths`.
"""

from __future__ import annotations

import os
import pathlib
import warnings
from collections.abc import Hashable, Sequence
from typing import Any

from astropy.io import fits
from sqlalchemy import Table, delete, exists, insert, select
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import Session

from lightcurvedb.loaders.report import LoaderError, LoadReport, PathArgument
from lightcurvedb.scaleout.plan import MappedLoader

__all__ = ["TESS_LIGHTCURVES", "tess_observation_key"]


def _headers(path: pathlib.Path, *extensions: int | str) -> list[fits.Header]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # the loader reports damaged files itself
        with fits.open(path, lazy_load_hdus=True) as hdul:
            return [hdul[extension].header.copy() for extension in extensions]


def _tess_header_values(path: pathlib.Path, header: fits.Header | None = None
                        ) -> tuple[int, int, int, int]:
    if header is None:
        (header,) = _headers(path, 0)
    values = []
    for name in ("SECTOR", "CAMERA", "CCD", "TICID"):
        value = header.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise LoaderError(path, f"primary header keyword {name} = {value!r} is not an int")
        values.append(value)
    return values[0], values[1], values[2], values[3]


def tess_observation_key(path: str | os.PathLike[str]) -> tuple[int, int, int]:
    """Return ``(SECTOR, CAMERA, CCD)`` from a SPOC file's primary header.

    The default grouping of :data:`TESS_LIGHTCURVES`: a TESS observation is
    one sector of one CCD at one cadence, so files with the same key may
    belong to the same observation and are loaded by the same task (the 2-min
    and 20-s observations of a CCD share a group; that is coarser than needed,
    never wrong).

    Parameters
    ----------
    path : path-like
        A ``*_lc.fits`` / ``*_fast-lc.fits`` file.

    Returns
    -------
    tuple of int

    Raises
    ------
    LoaderError
        If a keyword is missing or not an integer.
    OSError
        If the file cannot be read as FITS.
    """
    sector, camera, ccd, _ = _tess_header_values(pathlib.Path(path))
    return sector, camera, ccd


def _tess_scan(path: pathlib.Path) -> tuple[Hashable, tuple[Hashable, ...], Hashable]:
    primary, table = _headers(path, 0, "LIGHTCURVE")
    sector, camera, ccd, tic_id = _tess_header_values(path, primary)
    timedel = table.get("TIMEDEL")
    if isinstance(timedel, bool) or not isinstance(timedel, (int, float)):
        raise LoaderError(path, f"TIMEDEL = {timedel!r} is not a number")
    return (sector, camera, ccd), (tic_id,), (sector, camera, ccd, round(timedel * 86400.0))


def _tess_load(bind: str | URL | Engine | None, paths: Sequence[pathlib.Path], **kwargs: Any
               ) -> LoadReport:
    from lightcurvedb.loaders import tess

    return tess.load_paths(bind, paths, **kwargs)


def _tess_prepare(session: Session, tic_ids: Sequence[Any]) -> list[int]:
    from lightcurvedb.loaders.tess import PDC_METHOD, SAP_SOURCE
    from lightcurvedb.missions.tess import create_tess_instruments, ensure_tess_mission
    from lightcurvedb.models import PhotometricSource, ProcessingMethod, Target

    _, catalog = ensure_tess_mission(session)
    create_tess_instruments(session)
    for model, (name, description) in ((PhotometricSource, SAP_SOURCE),
                                       (ProcessingMethod, PDC_METHOD)):
        if session.scalar(select(model.id).where(model.name == name)) is None:
            session.add(model(name=name, description=description))
    created: list[int] = []
    wanted = sorted({int(tic) for tic in tic_ids})
    for start in range(0, len(wanted), 5000):
        chunk = wanted[start:start + 5000]
        known = set(session.scalars(select(Target.name).where(
            Target.catalog_id == catalog.id, Target.name.in_(chunk))))
        rows = [{"catalog_id": catalog.id, "name": tic} for tic in chunk if tic not in known]
        if rows:
            created.extend(session.scalars(insert(Target).returning(Target.id), rows))
    session.flush()
    return created


def _tess_release(session: Session, created: Sequence[int]) -> int:
    from lightcurvedb.models import Target

    table = Target.__table__
    assert isinstance(table, Table)
    referencing = [fk.parent for other in table.metadata.tables.values()
                   for fk in other.foreign_keys if fk.column is table.c.id]
    removed = 0
    for start in range(0, len(created), 5000):
        chunk = list(created[start:start + 5000])
        unused = [~exists().where(column == table.c.id) for column in referencing]
        result = session.execute(delete(table).where(table.c.id.in_(chunk), *unused))
        removed += int(getattr(result, "rowcount", 0))
    return removed


def _find_spoc_files(paths: PathArgument) -> list[pathlib.Path]:
    from lightcurvedb.loaders.tess import find_spoc_files

    return find_spoc_files(paths)


#: :func:`lightcurvedb.loaders.tess.load_paths` (SPOC light curves) as a
#: :class:`MappedLoader`; grouped by :func:`tess_observation_key`.
TESS_LIGHTCURVES = MappedLoader(
    kind="TESS SPOC light curves", find_files=_find_spoc_files, scan=_tess_scan,
    load=_tess_load, prepare=_tess_prepare, release=_tess_release)
