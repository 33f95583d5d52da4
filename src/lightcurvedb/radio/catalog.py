"""The DSA-110 master source catalog: loading the NVSS/VLASS/FIRST crossmatch, cone search.

:func:`load_master_sources` reads a crossmatch table from a FITS binary table
or a CSV file. Column names are matched case-insensitively; other columns are
ignored. Accepted names (first the canonical one, as in ``radio.sources``):

============================  ================================================  ==========
column                        also accepted                                     unit
============================  ================================================  ==========
``source_id`` (required)      ``nvss_id``, ``nvss_name``, ``name``              NVSS id
``ra_deg`` (required)         ``ra``, ``raj2000``                               deg (ICRS)
``dec_deg`` (required)        ``dec``, ``dej2000``, ``decj2000``                deg (ICRS)
``s_nvss``                    ``s_nvss_jy``, ``nvss_flux_jy``;                  Jy
                              ``s_nvss_mjy``, ``nvss_flux_mjy`` (mJy)
``snr_nvss``                  ``nvss_snr``
``s_vlass``                   ``s_vlass_jy``, ``vlass_flux_jy``;                Jy
                              ``s_vlass_mjy``, ``vlass_flux_mjy`` (mJy)
``first_size_maj_arcsec``     ``first_maj``, ``first_maj_arcsec``               arcsec
``first_size_min_arcsec``     ``first_min``, ``first_min_arcsec``               arcsec
``first_size_pa_deg``         ``first_pa``, ``first_pa_deg``                    deg
============================  ================================================  ==========

Empty cells (CSV), masked or NaN values mean "not measured" and are stored as
NULL. Computed on load:

* ``alpha`` = log(S_VLASS / S_NVSS) / log(3.0 / 1.4), VLASS at 3 GHz and NVSS at
  1.4 GHz (NULL unless both fluxes are given);
* ``resolved_flag``: FIRST deconvolved major axis larger than
  ``resolved_threshold_arcsec`` (default 5.4″, the FIRST beam);
* ``confusion_flag``: another catalog entry (in the file or already in the
  database) lies within ``confusion_radius_arcsec`` (default 45″, the NVSS
  beam). Entries already stored near the loaded ones are updated too.

:func:`cone_search` finds sources around a position: with the q3c index of
migration 0006 on a PostgreSQL that has q3c (``q3c_radial_query``), with a
declination band and RA window on the ``(ra_deg, dec_deg)`` index on SQLite
and on PostgreSQL without q3c; all then keep exactly the sources whose
great-circle distance, computed in numpy, is within the radius, so every
database returns the same sources.
"""

from __future__ import annotations

import csv
import math
import pathlib
import warnings
from collections import Counter
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from lightcurvedb.bulk import upsert_rows
from lightcurvedb.core.cones import angular_separation_deg, check_cone, cone_condition
from lightcurvedb.loaders.fitsfile import read_fits
from lightcurvedb.loaders.report import LoaderError
from lightcurvedb.radio.sources import Source

__all__ = [
    "COLUMN_ALIASES",
    "DEFAULT_CONFUSION_RADIUS_ARCSEC",
    "DEFAULT_RESOLVED_THRESHOLD_ARCSEC",
    "NVSS_FREQUENCY_GHZ",
    "VLASS_FREQUENCY_GHZ",
    "angular_separation_deg",
    "cone_search",
    "has_neighbour",
    "load_master_sources",
    "read_master_sources",
    "spectral_index",
]

NVSS_FREQUENCY_GHZ = 1.4
VLASS_FREQUENCY_GHZ = 3.0
DEFAULT_RESOLVED_THRESHOLD_ARCSEC = 5.4
DEFAULT_CONFUSION_RADIUS_ARCSEC = 45.0

#: Canonical column -> accepted names (lower case) and the factor to the stored unit.
COLUMN_ALIASES: dict[str, tuple[tuple[str, float], ...]] = {
    "source_id": (("source_id", 1), ("nvss_id", 1), ("nvss_name", 1), ("name", 1)),
    "ra_deg": (("ra_deg", 1), ("ra", 1), ("raj2000", 1)),
    "dec_deg": (("dec_deg", 1), ("dec", 1), ("dej2000", 1), ("decj2000", 1)),
    "s_nvss": (("s_nvss", 1), ("s_nvss_jy", 1), ("nvss_flux_jy", 1), ("s_nvss_mjy", 1e-3),
               ("nvss_flux_mjy", 1e-3)),
    "snr_nvss": (("snr_nvss", 1), ("nvss_snr", 1)),
    "s_vlass": (("s_vlass", 1), ("s_vlass_jy", 1), ("vlass_flux_jy", 1), ("s_vlass_mjy", 1e-3),
                ("vlass_flux_mjy", 1e-3)),
    "first_size_maj_arcsec": (("first_size_maj_arcsec", 1), ("first_maj", 1),
                              ("first_maj_arcsec", 1)),
    "first_size_min_arcsec": (("first_size_min_arcsec", 1), ("first_min", 1),
                              ("first_min_arcsec", 1)),
    "first_size_pa_deg": (("first_size_pa_deg", 1), ("first_pa", 1), ("first_pa_deg", 1)),
}
_REQUIRED = ("source_id", "ra_deg", "dec_deg")
_FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz")
FloatArray = npt.NDArray[np.float64]


def spectral_index(s_nvss: npt.ArrayLike, s_vlass: npt.ArrayLike) -> FloatArray:
    """Return α = log(S_VLASS / S_NVSS) / log(3.0 / 1.4); NaN unless both fluxes are > 0."""
    nvss = np.asarray(s_nvss, dtype=np.float64)
    vlass = np.asarray(s_vlass, dtype=np.float64)
    ok = np.isfinite(nvss) & np.isfinite(vlass) & (nvss > 0) & (vlass > 0)
    alpha = np.full(np.broadcast(nvss, vlass).shape, np.nan)
    alpha[ok] = np.log(np.broadcast_to(vlass, ok.shape)[ok] / np.broadcast_to(nvss, ok.shape)[ok]
                       ) / math.log(VLASS_FREQUENCY_GHZ / NVSS_FREQUENCY_GHZ)
    return alpha


def has_neighbour(ra_deg: npt.ArrayLike, dec_deg: npt.ArrayLike, radius_deg: float
                  ) -> npt.NDArray[np.bool_]:
    """Return, for each position, whether another one lies within ``radius_deg``.

    A sweep in declination: positions sorted by Dec are compared with the
    next, the one after, ... while their Dec difference is within the radius.
    """
    ra = np.asarray(ra_deg, dtype=np.float64)
    dec = np.asarray(dec_deg, dtype=np.float64)
    order = np.argsort(dec, kind="stable")
    a, d = ra[order], dec[order]
    flag = np.zeros(d.size, dtype=bool)
    active = np.arange(d.size - 1)
    step = 1
    while active.size:
        other = active + step
        near = d[other] - d[active] <= radius_deg
        active, other = active[near], other[near]
        hit = angular_separation_deg(a[active], d[active], a[other], d[other]) <= radius_deg
        flag[active[hit]] = True
        flag[other[hit]] = True
        step += 1
        active = active[active + step < d.size]
    result = np.empty_like(flag)
    result[order] = flag
    return result


def _read_csv(path: pathlib.Path) -> dict[str, list[Any]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise LoaderError(path, "empty file: no header line")
        columns: dict[str, list[Any]] = {name.strip(): [] for name in header}
        names = list(columns)
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(names):
                raise LoaderError(path, f"line {line}: {len(row)} fields, header has "
                                        f"{len(names)}")
            for name, cell in zip(names, row, strict=True):
                columns[name].append(cell.strip())
    return columns


def _first_table(hdus: Any, content: Any) -> Any:
    from astropy.io import fits
    from astropy.table import Table
    from astropy.units import UnitsWarning

    index = next((i for i, hdu in enumerate(hdus)
                  if isinstance(hdu, (fits.BinTableHDU, fits.TableHDU))), None)
    if index is None:
        raise LoaderError(content.path, "no table HDU")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnitsWarning)  # units are not used, names are
        return Table.read(hdus, hdu=index)


def _read_fits(path: pathlib.Path) -> dict[str, list[Any]]:
    # The one FITS rule of every reader: gzip/bzip2 by content, CHECKSUM/DATASUM verified.
    table = read_fits(path, _first_table)
    columns = {}
    for name in table.colnames:
        column = table[name]
        mask = np.ma.getmaskarray(column)
        values = [None if masked else value for value, masked in zip(
            np.asarray(column).tolist(), mask.tolist(), strict=True)]
        columns[name] = [v.decode() if isinstance(v, bytes) else v for v in values]
    return columns


def _numbers(path: pathlib.Path, name: str, cells: list[Any], scale: float) -> FloatArray:
    out = np.empty(len(cells), dtype=np.float64)
    for i, cell in enumerate(cells):
        if cell is None or (isinstance(cell, str) and cell.strip().lower() in ("", "nan")):
            out[i] = np.nan
            continue
        try:
            out[i] = float(cell)
        except (TypeError, ValueError):
            raise LoaderError(path, f"row {i + 1}: column {name!r}: {cell!r} is not a "
                                    "number") from None
    return out * scale


def _check(path: pathlib.Path, bad: npt.NDArray[np.bool_], what: str) -> None:
    if bad.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(bad)[:5])
        raise LoaderError(path, f"{what} (row {rows})")


def read_master_sources(path: str | pathlib.Path, *,
                        resolved_threshold_arcsec: float = DEFAULT_RESOLVED_THRESHOLD_ARCSEC
                        ) -> list[dict[str, Any]]:
    """Read and check a crossmatch file; return ``radio.sources`` rows without ``confusion_flag``.

    Raises
    ------
    LoaderError
        For an unknown format, a damaged FITS file (truncated, or a
        ``CHECKSUM``/``DATASUM`` that does not match, the HDU named: FITS
        files are opened with :func:`~lightcurvedb.loaders.fitsfile.read_fits`,
        gzip or not), missing or ambiguous columns, a value that is not a
        number, a missing or repeated source id, a position off the sky or a
        flux or size that is not positive. Rows are numbered from 1.
    """
    path = pathlib.Path(path)
    name = path.name.lower()
    if name.endswith(_FITS_SUFFIXES):
        raw = _read_fits(path)
    elif name.endswith(".csv"):
        raw = _read_csv(path)
    else:
        raise LoaderError(path, "unknown format: expected .fits, .fit, .fts (optionally .gz) "
                                "or .csv")
    by_name = {column.lower(): column for column in raw}
    found: dict[str, tuple[str, float]] = {}
    for canonical, aliases in COLUMN_ALIASES.items():
        present = [(by_name[alias], scale) for alias, scale in aliases if alias in by_name]
        if len(present) > 1:
            raise LoaderError(path, f"columns {[p[0] for p in present]} all mean {canonical!r}")
        if present:
            found[canonical] = present[0]
        elif canonical in _REQUIRED:
            accepted = ", ".join(alias for alias, _ in aliases)
            raise LoaderError(path, f"no {canonical!r} column (accepted names: {accepted})")
    ids = [str(v).strip() if v is not None else "" for v in raw[found["source_id"][0]]]
    _check(path, np.array([not v or len(v) > 64 for v in ids], dtype=bool),
           "source id empty or longer than 64 characters")
    counts = Counter(ids)
    _check(path, np.array([counts[v] > 1 for v in ids], dtype=bool), "source id repeated")
    n = len(ids)
    values: dict[str, FloatArray] = {}
    for canonical in COLUMN_ALIASES:
        if canonical == "source_id":
            continue
        if canonical in found:
            column, scale = found[canonical]
            values[canonical] = _numbers(path, column, raw[column], scale)
        else:
            values[canonical] = np.full(n, np.nan)
    ra, dec = values["ra_deg"], values["dec_deg"]
    _check(path, ~(np.isfinite(ra) & (ra >= 0) & (ra <= 360)), "RA missing or outside [0, 360]")
    _check(path, ~(np.isfinite(dec) & (np.abs(dec) <= 90)), "Dec missing or outside [-90, 90]")
    for column in ("s_nvss", "s_vlass", "first_size_maj_arcsec", "first_size_min_arcsec"):
        x = values[column]
        _check(path, ~(np.isnan(x) | (np.isfinite(x) & (x > 0))),
               f"{column} not a positive finite number (leave it empty if unknown)")
    for column in ("snr_nvss", "first_size_pa_deg"):
        _check(path, np.isinf(values[column]), f"{column} infinite")
    values["ra_deg"] = ra % 360.0
    alpha = spectral_index(values["s_nvss"], values["s_vlass"])
    resolved = values["first_size_maj_arcsec"] > resolved_threshold_arcsec
    numeric = [c for c in COLUMN_ALIASES if c != "source_id"]
    return [{"source_id": ids[i],
             **{c: None if np.isnan(values[c][i]) else float(values[c][i]) for c in numeric},
             "alpha": None if np.isnan(alpha[i]) else float(alpha[i]),
             "resolved_flag": bool(resolved[i])} for i in range(n)]


def _update_confusion(session: Session, dec_low: float, dec_high: float, radius: float) -> None:
    """Recompute ``confusion_flag`` of every source within ``radius`` of the Dec band."""
    table = cast(Table, Source.__table__)
    rows = session.execute(
        select(table.c.source_id, table.c.ra_deg, table.c.dec_deg, table.c.confusion_flag)
        .where(table.c.dec_deg.between(dec_low - 2 * radius, dec_high + 2 * radius))).all()
    if not rows:
        return
    ra = np.array([row.ra_deg for row in rows], dtype=np.float64)
    dec = np.array([row.dec_deg for row in rows], dtype=np.float64)
    flags = has_neighbour(ra, dec, radius)
    inside = (dec >= dec_low - radius) & (dec <= dec_high + radius)
    changed = [{"b_source_id": row.source_id, "b_flag": bool(flag)}
               for row, flag, keep in zip(rows, flags, inside, strict=True)
               if keep and bool(row.confusion_flag) != bool(flag)]
    if changed:
        stmt = (update(table).where(table.c.source_id == bindparam("b_source_id"))
                .values(confusion_flag=bindparam("b_flag")))
        session.execute(stmt, changed)


def load_master_sources(session: Session, path: str | pathlib.Path, *, chunk_size: int = 5000,
                        resolved_threshold_arcsec: float = DEFAULT_RESOLVED_THRESHOLD_ARCSEC,
                        confusion_radius_arcsec: float = DEFAULT_CONFUSION_RADIUS_ARCSEC) -> int:
    """Load (insert or update) a crossmatch catalog into ``radio.sources``.

    The whole file is read and checked first (:func:`read_master_sources`),
    then written in chunks inside one SAVEPOINT: a bad file writes nothing.

    Returns
    -------
    int
        Number of catalog rows loaded.

    Raises
    ------
    LoaderError
        If the file is refused; see :func:`read_master_sources`.
    """
    records = read_master_sources(path, resolved_threshold_arcsec=resolved_threshold_arcsec)
    if not records:
        return 0
    with session.begin_nested():
        connection = session.connection(bind_arguments={"mapper": Source})  # master_sources
        upsert_rows(connection, Source, records, conflict=["source_id"], update="all",
                    chunk_size=chunk_size)
        decs = [record["dec_deg"] for record in records]
        _update_confusion(session, min(decs), max(decs), confusion_radius_arcsec / 3600.0)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Source):  # rows loaded, and neighbours whose flag changed
            session.expire(obj)
    return len(records)


def cone_search(session: Session, ra: float, dec: float, radius_deg: float) -> list[Source]:
    """Return the sources within ``radius_deg`` of (``ra``, ``dec``), nearest first.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    ra : float
        Centre's right ascension (deg, ICRS), taken modulo 360.
    dec : float
        Centre's declination (deg, ICRS).
    radius_deg : float
        Radius (deg), in (0, 180].

    Returns
    -------
    list of Source
        Ordered by distance, then source id. Identical on PostgreSQL (with or
        without q3c) and SQLite.

    Raises
    ------
    ValueError
        For a non-finite centre, a Dec outside [-90, 90] or a bad radius.
    """
    ra = check_cone(ra, dec, radius_deg)
    stmt = select(Source).where(cone_condition(session.get_bind(Source).dialect, Source.ra_deg,
                                               Source.dec_deg, ra, dec, radius_deg))
    candidates: Sequence[Source] = session.scalars(stmt).all()
    if not candidates:
        return []
    separation = angular_separation_deg(ra, dec, [s.ra_deg for s in candidates],
                                        [s.dec_deg for s in candidates])
    hits = [(float(sep), source.source_id, source)
            for sep, source in zip(separation, candidates, strict=True) if sep <= radius_deg]
    return [source for _, _, source in sorted(hits, key=lambda hit: hit[:2])]
