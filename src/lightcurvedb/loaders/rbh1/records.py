"""Read one RBH-1 FITS file into plain, validated records; no database involved.

:func:`read_rbh1_file` classifies the file from its headers
(:func:`~lightcurvedb.loaders.rbh1.introspect.classify_hdul`), reads the
zone-0 catalog values through per-telescope keyword maps, and computes what
zone 1 needs (:mod:`lightcurvedb.loaders.rbh1.geometry`): the WCS solution of
``flc``, ``drc`` and ``s3d`` files, the exclusion reason of ``x1d`` and
``cal`` files, and the wavelength grid of ``s3d`` cubes. A file it refuses
raises :class:`~lightcurvedb.loaders.rbh1.geometry.RBH1FileError` naming the
stage that failed.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import pathlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from astropy.io import fits
from astropy.io.fits.verify import VerifyError

from lightcurvedb.loaders.fitsfile import FitsContent, header_value, read_fits
from lightcurvedb.loaders.rbh1.geometry import (
    GridRecord,
    RBH1FileError,
    WCSRecord,
    celestial_wcs_summary,
    read_spectral_grid,
    read_wcs_solution,
)
from lightcurvedb.loaders.rbh1.introspect import FILE_TYPE_INFO, classify_hdul
from lightcurvedb.loaders.report import LoaderError
from lightcurvedb.rbh1 import DataLevel, InstrumentType

__all__ = ["EXCLUSION_REASONS", "HEADER_KEYWORDS", "RBH1File", "read_rbh1_file"]

#: Why files of a type get no WCS solution (``cal`` adds what its SCI header holds,
#: see :func:`~lightcurvedb.loaders.rbh1.geometry.celestial_wcs_summary`).
EXCLUSION_REASONS = {
    "x1d": "x1d: 1-D extracted spectrum (EXTRACT1D table), no meaningful 2-D footprint",
    "cal": "cal: intermediate 2-D detector image before cube building",
}


def _as_int(value: Any) -> int:
    return int(str(value).strip())


#: Per telescope: record field -> (keyword, converter, required).
HEADER_KEYWORDS: Mapping[str, Mapping[str, tuple[str, Callable[[Any], Any], bool]]] = {
    "HST": {
        "target_name": ("TARGNAME", str, False), "program_id": ("PROPOSID", _as_int, True),
        "filter_name": ("FILTER", str, False), "detector": ("DETECTOR", str, True),
        "exposure_time": ("EXPTIME", float, True),
        "exposure_start_mjd": ("EXPSTART", float, True), "rootname": ("ROOTNAME", str, False),
        "linenum": ("LINENUM", str, False),
    },
    "JWST": {
        "target_name": ("TARGNAME", str, False), "program_id": ("PROGRAM", _as_int, True),
        "filter_name": ("FILTER", str, False), "grating": ("GRATING", str, False),
        "detector": ("DETECTOR", str, True), "exposure_time": ("EFFEXPTM", float, True),
        "exposure_start_mjd": ("EXPSTART", float, True),
        "observation_number": ("OBSERVTN", _as_int, True),
        "visit_number": ("VISIT", _as_int, True), "exposure_type": ("EXP_TYPE", str, True),
    },
}


@dataclass(frozen=True, eq=False)
class RBH1File:
    """One RBH-1 file as plain values, validated, ready to be written.

    Attributes
    ----------
    path : pathlib.Path
        The file read; ``file_name`` is its name.
    file_type : str
        From the headers: ``flc``, ``drc``, ``cal``, ``x1d`` or ``s3d``.
    instrument, data_level
        :class:`~lightcurvedb.rbh1.InstrumentType` and
        :class:`~lightcurvedb.rbh1.DataLevel` of the type.
    sha256, file_size_bytes, n_extensions
        SHA-256 of the uncompressed bytes (a gzipped copy has the same),
        size on disk, number of HDUs.
    values : dict
        Zone-0 header values by field (see :data:`HEADER_KEYWORDS`) plus
        ``date_obs`` (aware UTC datetime), ``rootname`` and (HST) ``visit_id``.
    frame : dict
        ``simple``, ``bitpix``, ``naxis``, ``naxis_values``, ``extended`` of the
        data HDU (first SCI, or the EXTRACT1D table).
    wcs : WCSRecord or None
        The WCS solution (flc, drc, s3d).
    wcs_excluded_reason : str or None
        Why there is none (x1d, cal).
    grid : GridRecord or None
        The wavelength grid (s3d).
    notes : tuple of str
        Things worth reporting that did not stop the file (name/header mismatch).
    """

    path: pathlib.Path
    file_type: str
    instrument: InstrumentType
    data_level: DataLevel
    sha256: str
    file_size_bytes: int
    n_extensions: int
    values: dict[str, Any]
    frame: dict[str, Any]
    wcs: WCSRecord | None = None
    wcs_excluded_reason: str | None = None
    grid: GridRecord | None = None
    notes: tuple[str, ...] = ()

    @property
    def file_name(self) -> str:
        """The file's name, e.g. ``iexo01abq_flc.fits``."""
        return self.path.name

    @property
    def telescope(self) -> str:
        """``HST`` or ``JWST``."""
        return FILE_TYPE_INFO[self.file_type][0]


def _header_values(path: pathlib.Path, telescope: str, primary: fits.Header) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field, (keyword, convert, required) in HEADER_KEYWORDS[telescope].items():
        try:  # a card astropy cannot parse (NAN, INF) is refused by name, never "missing"
            raw = header_value(path, primary, keyword, "the primary header", default=None)
        except LoaderError as exc:
            raise RBH1FileError(path, exc.reason) from None
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if required:
                raise RBH1FileError(path, f"the primary header lacks keyword {keyword}")
            values[field] = None
            continue
        try:
            values[field] = convert(raw)
        except (TypeError, ValueError):
            raise RBH1FileError(path, f"{keyword} = {raw!r} in the primary header is not "
                                      f"{'an integer' if convert is _as_int else 'a number'}"
                                ) from None
        if isinstance(values[field], float) and not math.isfinite(values[field]):
            raise RBH1FileError(path, f"{keyword} = {raw!r} in the primary header is not a "
                                      "finite number")
        if isinstance(values[field], str):
            values[field] = values[field].strip()
    values["date_obs"] = _date_obs(primary)
    values["rootname"] = values.get("rootname") or _stem(path.name)
    if telescope == "HST":
        linenum = values.pop("linenum")
        values["visit_id"] = linenum.split(".")[0] if linenum else "all"
    return values


def _stem(name: str) -> str:
    """``iexo01abq_flc.fits`` -> ``iexo01abq``; ``jw..._nrs1_s3d.fits`` -> ``jw..._nrs1``."""
    return name.split(".fits")[0].rsplit("_", 1)[0]


def _date_obs(primary: fits.Header) -> dt.datetime | None:
    try:
        date, time = str(primary.get("DATE-OBS", "")).strip(), \
            str(primary.get("TIME-OBS", "")).strip()
    except VerifyError:
        return None
    if not date:
        return None
    text = date if "T" in date or not time else f"{date}T{time}"
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _frame_values(hdu: Any) -> dict[str, Any]:
    header = hdu.header
    naxis = int(header.get("NAXIS", 0))
    return {"simple": True, "bitpix": int(header["BITPIX"]), "naxis": naxis,
            "naxis_values": [int(header[f"NAXIS{i}"]) for i in range(1, naxis + 1)],
            "extended": True}




def _parse(path: pathlib.Path, hdul: fits.HDUList) -> tuple[Any, ...]:
    try:
        found = classify_hdul(path.name, hdul)
    except ValueError as exc:
        raise RBH1FileError(path, str(exc)) from None
    kind = found.file_type
    values = _header_values(path, found.telescope, hdul[0].header)
    data_hdu = hdul["EXTRACT1D"] if kind == "x1d" else hdul["SCI"]
    wcs = grid = excluded = None
    if kind == "x1d":
        excluded = EXCLUSION_REASONS["x1d"]
    elif kind == "cal":
        excluded = f"{EXCLUSION_REASONS['cal']}: {celestial_wcs_summary(hdul['SCI'].header)}"
    else:
        wcs = read_wcs_solution(path, hdul, kind)
        if kind == "s3d":
            grid = read_spectral_grid(path, hdul)
    notes = (found.name_mismatch,) if found.name_mismatch else ()
    return found, values, _frame_values(data_hdu), wcs, excluded, grid, notes


def read_rbh1_file(path: str | os.PathLike[str]) -> RBH1File:
    """Read, classify and validate one RBH-1 file; write nothing.

    Parameters
    ----------
    path : path-like
        A FITS file (its name need not match its contents: the headers decide).

    Returns
    -------
    RBH1File

    Raises
    ------
    lightcurvedb.loaders.rbh1.geometry.RBH1FileError
        If the file is missing, truncated or corrupt (any astropy warning
        while reading it; a ``CHECKSUM``/``DATASUM`` that does not match the
        HDU's bytes, see :func:`~lightcurvedb.loaders.fitsfile.open_fits`), describes no RBH-1
        product, lacks its ``SCI`` HDU or a required keyword (stage
        ``observations``); if a file type that needs a sky WCS (flc, drc,
        s3d) has ``CRVAL1/2 = 0/0``, a non-finite or singular CD/PC matrix
        or an invalid footprint (stage ``wcs_solutions``); or if a cube's
        wavelengths cannot be read or do not increase (``spectral_grids``).
    """
    path = pathlib.Path(path)

    def parse(hdul: fits.HDUList, content: FitsContent) -> tuple[Any, ...]:
        return (*_parse(path, hdul), len(hdul), content)

    found, values, frame, wcs, excluded, grid, notes, n_extensions, content = read_fits(
        path, parse, error=RBH1FileError)
    instrument, level = FILE_TYPE_INFO[found.file_type][1:3]
    return RBH1File(path=path, file_type=found.file_type, instrument=instrument,
                    data_level=level, sha256=content.sha256, file_size_bytes=content.size_bytes,
                    n_extensions=n_extensions, values=values, frame=frame, wcs=wcs,
                    wcs_excluded_reason=excluded, grid=grid, notes=notes)
