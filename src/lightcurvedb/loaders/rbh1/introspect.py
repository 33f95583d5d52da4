"""Classify RBH-1 FITS files from their headers and describe them in a data dictionary.

A file's type (``flc``, ``drc``, ``cal``, ``x1d``, ``s3d``) is decided by what
its headers say -- ``TELESCOP``/``INSTRUME`` of the primary header, the
extension names and the dimensionality of ``SCI`` -- not by its name
(:func:`classify_hdul`); when the name suggests another type, the
:class:`Classification` says so. :func:`build_data_dictionary` walks files and
returns a JSON-ready description of every type (HDUs, EXTNAMEs, keywords with
example values, shapes, dtypes), like the study's ``fits_data_dictionary.json``;
:func:`write_data_dictionary` writes it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from astropy.io import fits
from astropy.io.fits.verify import VerifyError

from lightcurvedb.missions.jwst import NIRSPEC_MODES
from lightcurvedb.rbh1 import DataLevel, InstrumentType

__all__ = [
    "FILE_TYPE_INFO",
    "Classification",
    "build_data_dictionary",
    "classify_hdul",
    "file_type_from_name",
    "write_data_dictionary",
]

#: Per file type: (telescope, instrument, data level, description).
FILE_TYPE_INFO: dict[str, tuple[str, InstrumentType, DataLevel, str]] = {
    "flc": ("HST", InstrumentType.HST_WFC3, DataLevel.CAL,
            "WFC3/UVIS CTE-corrected calibrated exposure: two SCI chips with ERR and DQ"),
    "drc": ("HST", InstrumentType.HST_WFC3, DataLevel.RESAMPLED,
            "WFC3/UVIS drizzled image (exposure-level or HAP skycell mosaic): SCI, WHT, CTX"),
    "cal": ("JWST", InstrumentType.JWST_NIRSPEC, DataLevel.CAL,
            "NIRSpec IFU calibrated 2-D detector image before cube building"),
    "x1d": ("JWST", InstrumentType.JWST_NIRSPEC, DataLevel.CAL,
            "NIRSpec extracted 1-D spectrum (EXTRACT1D table)"),
    "s3d": ("JWST", InstrumentType.JWST_NIRSPEC, DataLevel.RESAMPLED,
            "NIRSpec IFU resampled cube: SCI/ERR/DQ (wavelength, y, x)"),
}
_SUFFIX = re.compile(r"_(flc|drc|cal|x1d|s3d)\.fits(\.gz|\.bz2|\.fz)?$", re.IGNORECASE)
_DTYPES = {8: "uint8", 16: "int16", 32: "int32", 64: "int64", -32: "float32", -64: "float64"}


@dataclass(frozen=True)
class Classification:
    """What a file's headers say it is.

    Attributes
    ----------
    file_type : str
        ``flc``, ``drc``, ``cal``, ``x1d`` or ``s3d``.
    telescope, instrument : str
        ``TELESCOP`` and ``INSTRUME`` of the primary header.
    evidence : str
        The header facts that decided, e.g. ``"HST WFC3, 2 SCI extensions"``.
    name_type : str or None
        The type the file name suggests (``..._flc.fits`` -> ``flc``), if any.
    """

    file_type: str
    telescope: str
    instrument: str
    evidence: str
    name_type: str | None = None

    @property
    def name_mismatch(self) -> str | None:
        """A sentence if the name suggests another type than the headers, else None."""
        if self.name_type is None or self.name_type == self.file_type:
            return None
        return (f"named as {self.name_type} but the headers say {self.file_type} "
                f"({self.evidence}): classified by headers")


def file_type_from_name(name: str) -> str | None:
    """Return the type a file name suggests (``iexo01abq_flc.fits`` -> ``flc``), or None."""
    match = _SUFFIX.search(name)
    return match.group(1).lower() if match else None


def _text(header: fits.Header, key: str) -> str:
    try:
        return str(header.get(key, "")).strip().upper()
    except VerifyError:
        return ""


def _stored_text(primary: fits.Header, key: str) -> str:
    """Return a primary-header value the loader stores; refuse an unparsable card by name."""
    try:
        return str(primary.get(key, "")).strip().upper()
    except VerifyError:
        raise ValueError(f"unparsable value for {key} in the primary header") from None


def _raw(header: fits.Header, key: str) -> str:
    try:
        return str(header.get(key, "") or "").strip()
    except VerifyError:
        return ""


def _elsewhere(hdul: fits.HDUList, telescope: str) -> str:
    """Where an extension names the telescope when the primary header does not (cutouts)."""
    if telescope:
        return ""
    for index, hdu in enumerate(hdul[1:], start=1):
        found = _text(hdu.header, "TELESCOP")
        if found:
            creator = (_raw(hdul[0].header, "ORIGIN") or _raw(hdul[0].header, "CREATOR"))
            made = f", made by {creator!r}" if creator else ""
            return (f" in the primary header; HDU {index} ({hdu.name}) says "
                    f"{found} {_text(hdu.header, 'INSTRUME') or '(no INSTRUME)'}{made}")
    return ""


def classify_hdul(name: str, hdul: fits.HDUList) -> Classification:
    """Classify an open FITS file from its headers and HDU layout.

    Parameters
    ----------
    name : str
        The file name (only used to report a mismatch).
    hdul : astropy.io.fits.HDUList
        The open file.

    Returns
    -------
    Classification

    Raises
    ------
    ValueError
        If the headers describe no RBH-1 product (not HST WFC3/UVIS nor JWST
        NIRSpec IFU: ``DETECTOR``, ``EXP_TYPE`` are quoted), or the layout
        fits no type (no ``SCI`` extension); the message says what was found.
    """
    primary = hdul[0].header
    telescope, instrument = _text(primary, "TELESCOP"), _text(primary, "INSTRUME")
    names = [hdu.name for hdu in hdul]
    sci = [hdu for hdu in hdul[1:] if hdu.name == "SCI"]
    found = ", ".join(names)
    name_type = file_type_from_name(name)
    hint = f" (the name suggests {name_type})" if name_type else ""
    if telescope == "HST" and instrument == "WFC3":
        detector = _stored_text(primary, "DETECTOR")
        if detector != "UVIS":
            raise ValueError(f"not an RBH-1 product: DETECTOR = {detector or '(none)'!r} "
                             "(RBH-1 takes WFC3/UVIS flc and drc files)")
        if not sci:
            raise ValueError(f"no 'SCI' HDU (found: {found}){hint}")
        drizzled = bool({"WHT", "CTX"} & set(names)) or "D001VER" in primary
        kind = "drc" if drizzled and len(sci) == 1 else "flc" if not drizzled else ""
        if not kind:
            raise ValueError(f"HST WFC3 file with {len(sci)} SCI extensions and drizzle "
                             f"products (found: {found}): neither flc nor drc")
        evidence = f"HST WFC3, {len(sci)} SCI extension{'s' * (len(sci) > 1)}" + (
            ", WHT/CTX" if drizzled else "")
    elif telescope == "JWST" and instrument == "NIRSPEC":
        exp_type = _stored_text(primary, "EXP_TYPE")
        if exp_type != "NRS_IFU":
            mode = (f" ({NIRSPEC_MODES[exp_type][1]})" if exp_type in NIRSPEC_MODES
                    else "" if not exp_type else " (not a NIRSpec exposure type)")
            raise ValueError(f"not an RBH-1 product: EXP_TYPE = {exp_type or '(none)'!r}{mode}; "
                             "RBH-1 takes NIRSpec IFU files (EXP_TYPE = 'NRS_IFU')")
        if "EXTRACT1D" in names:
            kind, evidence = "x1d", "JWST NIRSPEC, EXTRACT1D table"
        elif not sci:
            raise ValueError(f"no 'SCI' HDU (found: {found}){hint}")
        else:
            naxis = int(sci[0].header.get("NAXIS", 0))
            if naxis not in (2, 3):
                raise ValueError(f"JWST NIRSPEC SCI extension with NAXIS = {naxis}: neither a "
                                 "2-D cal image nor a 3-D s3d cube")
            kind = "s3d" if naxis == 3 else "cal"
            evidence = f"JWST NIRSPEC, {naxis}-D SCI"
    else:
        raise ValueError(f"not an RBH-1 product: TELESCOP = {telescope or '(none)'!r}, "
                         f"INSTRUME = {instrument or '(none)'!r}{_elsewhere(hdul, telescope)} "
                         "(expected HST WFC3 or JWST NIRSPEC)")
    return Classification(kind, telescope, instrument, evidence, name_type)


def _json_value(card: fits.Card) -> Any:
    try:
        value = card.value
    except VerifyError:
        return f"<unparsable: {str(getattr(card, '_image', ''))[10:].strip()}>"
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    return str(value)


def _describe_hdu(index: int, hdu: Any) -> dict[str, Any]:
    header = hdu.header
    entry: dict[str, Any] = {"index": index, "extname": hdu.name,
                             "extver": int(header.get("EXTVER", 1)),
                             "hdu_class": type(hdu).__name__}
    naxis = int(header.get("NAXIS", 0))
    if isinstance(hdu, fits.BinTableHDU):
        entry["shape"] = [int(header.get("NAXIS2", 0))]
        entry["dtype"] = "table"
        entry["columns"] = [{"name": col.name, "format": str(col.format), "unit": col.unit,
                             "dim": col.dim} for col in hdu.columns]
    else:
        # numpy order (slowest axis first), as astropy returns data arrays
        entry["shape"] = [int(header.get(f"NAXIS{i}", 0)) for i in range(naxis, 0, -1)]
        entry["dtype"] = _DTYPES.get(int(header.get("BITPIX", 8)), "unknown") if naxis else None
    entry["keywords"] = {card.keyword: _json_value(card) for card in header.cards
                         if card.keyword and card.keyword not in ("COMMENT", "HISTORY")}
    return entry


def build_data_dictionary(paths: Sequence[pathlib.Path] | Iterable[pathlib.Path],
                          *, root: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Describe files by type, from their headers alone (no data arrays are read).

    Parameters
    ----------
    paths : iterable of pathlib.Path
        The FITS files.
    root : path-like, optional
        Recorded as the directory described.

    Returns
    -------
    dict
        JSON-ready: ``generated_at``, ``directory``, ``n_files``,
        ``file_types`` (per type: ``telescope``, ``instrument``,
        ``data_level``, ``description``, ``n_files``, ``example_file`` and
        ``hdus`` -- index, EXTNAME, EXTVER, HDU class, shape, dtype, table
        columns and every keyword with its value in the example file),
        ``files`` (name, type, evidence, the type the name suggests) and
        ``problems`` (files that could not be classified, with the reason).
    """
    types: dict[str, dict[str, Any]] = {}
    files: list[dict[str, Any]] = []
    problems: list[dict[str, str]] = []
    for path in paths:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")       # damaged files are reported, not warned
                with fits.open(path, memmap=False, lazy_load_hdus=False) as hdul:
                    found = classify_hdul(path.name, hdul)
                    if found.file_type not in types:
                        telescope, instrument, level, description = \
                            FILE_TYPE_INFO[found.file_type]
                        types[found.file_type] = {
                            "telescope": telescope, "instrument": instrument.value,
                            "data_level": level.value, "description": description,
                            "n_files": 0, "example_file": path.name,
                            "hdus": [_describe_hdu(i, hdu) for i, hdu in enumerate(hdul)]}
        except (OSError, ValueError, TypeError, KeyError, IndexError, VerifyError) as exc:
            problems.append({"path": str(path), "reason": str(exc).splitlines()[0]})
            continue
        types[found.file_type]["n_files"] += 1
        files.append({"file_name": path.name, "file_type": found.file_type,
                      "evidence": found.evidence, "name_suggests": found.name_type,
                      **({"note": found.name_mismatch} if found.name_mismatch else {})})
    return {"generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "directory": None if root is None else str(root), "n_files": len(files),
            "file_types": dict(sorted(types.items())), "files": files, "problems": problems}


def write_data_dictionary(dictionary: dict[str, Any], path: str | os.PathLike[str]
                          ) -> pathlib.Path:
    """Write a :func:`build_data_dictionary` result as indented JSON; return the path."""
    target = pathlib.Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(dictionary, indent=2, default=str) + "\n")
    return target
