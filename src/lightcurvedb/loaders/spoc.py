"""Read and validate TESS SPOC light-curve files into plain numpy records.

:func:`read_spoc_lightcurve` opens a ``*_lc.fits`` / ``*_fast-lc.fits`` file
(plain or compressed), refuses other missions' and pipelines' products by name
(:func:`refuse_other_products`), checks its HDUs, keywords and columns, and
returns a :class:`SpocLightCurve`; nothing here touches a database.
:mod:`lightcurvedb.loaders.tess` writes the records.
"""

from __future__ import annotations

import math
import os
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from astropy.io import fits

from lightcurvedb.core.column_rules import column_rule
from lightcurvedb.loaders.fitsfile import FitsContent, header_value, read_fits
from lightcurvedb.loaders.fitstable import column_names, table_columns
from lightcurvedb.loaders.products import (
    NOT_SPOC,
    SPOC_COLUMNS,
    header_facts,
    identify,
    product_keywords,
)
from lightcurvedb.loaders.report import LoaderError, with_compressed
from lightcurvedb.missions.tess import CADENCES_SECONDS, TESSObservation
from lightcurvedb.models import Target

__all__ = ["POSITION_KEYWORDS", "REQUIRED_COLUMNS", "SPOC_PATTERNS", "SpocLightCurve",
           "read_position", "read_spoc_lightcurve", "refuse_other_products"]

#: ``LIGHTCURVE`` columns the loader needs; the others (centroids, background) are not stored.
REQUIRED_COLUMNS = SPOC_COLUMNS
#: File names searched for in directories: 2-minute and 20-second light curves, plain,
#: gzipped or bzip2-compressed (read alike, see :func:`~lightcurvedb.loaders.fitsfile.open_fits`).
SPOC_PATTERNS = with_compressed(("*_lc.fits", "*_fast-lc.fits"))
#: Primary-header cards giving the target's position and brightness (from the TIC),
#: and the :class:`~lightcurvedb.models.Target` attribute each fills.
POSITION_KEYWORDS = {"RA_OBJ": "ra", "DEC_OBJ": "dec", "PMRA": "pm_ra", "PMDEC": "pm_dec",
                     "TESSMAG": "magnitude"}
#: Relative tolerance when matching ``TIMEDEL`` to a TESS cadence.
_CADENCE_TOLERANCE = 0.01

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class SpocLightCurve:
    """One SPOC light-curve file as plain values, validated, ready to be written.

    Attributes
    ----------
    path : pathlib.Path
        The file read.
    tic_id, sector, camera, ccd : int
        ``TICID``, ``SECTOR``, ``CAMERA`` and ``CCD`` of the primary header.
    cadence_seconds : int
        ``TIMEDEL`` as one of :data:`~lightcurvedb.missions.tess.CADENCES_SECONDS`.
    bjd_reference : tuple of (int, float)
        ``BJDREFI`` and ``BJDREFF``: ``TIME`` counts days from their sum.
    time : numpy.ndarray
        ``TIME`` (BTJD, TDB) as float64; NaN where SPOC has no time.
    cadence_numbers, quality : numpy.ndarray
        ``CADENCENO`` and ``QUALITY`` as int64.
    sap_flux, sap_flux_err, pdcsap_flux, pdcsap_flux_err : numpy.ndarray
        The flux columns (e-/s) as float64, NaNs kept.
    aperture : numpy.ndarray
        The ``APERTURE`` bitmask image (read and checked, not stored).
    pdc_method : str or None
        ``PDCMETHD`` (e.g. ``msMAP``), for information.
    position : dict
        The target's position and magnitude from the primary header
        (:func:`read_position`): :class:`~lightcurvedb.models.Target` attribute
        names to values, only those the file gives.
    sha256 : str
        SHA-256 (hex) of the file's uncompressed bytes
        (:attr:`FitsContent.sha256 <lightcurvedb.loaders.fitsfile.FitsContent.sha256>`),
        recorded at load time so a re-run skips the file without reading it.
    size_bytes : int
        Size of the file on disk.
    stored_dtypes : dict
        For each array the file stored in fewer bits than it is held in here
        (SPOC's fluxes are float32, its flags int32), that narrower dtype. A
        record is pickled with those arrays narrowed -- worker processes hand
        records over through a pipe, and this halves the bytes -- and widened
        back when unpickled, bit for bit the same (the values came from that
        dtype).
    """

    path: pathlib.Path
    tic_id: int
    sector: int
    camera: int
    ccd: int
    cadence_seconds: int
    bjd_reference: tuple[int, float]
    time: FloatArray
    cadence_numbers: IntArray
    sap_flux: FloatArray
    sap_flux_err: FloatArray
    pdcsap_flux: FloatArray
    pdcsap_flux_err: FloatArray
    quality: IntArray
    aperture: npt.NDArray[np.int32]
    pdc_method: str | None = None
    position: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""
    size_bytes: int = 0
    stored_dtypes: dict[str, str] = field(default_factory=dict, repr=False)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle with the arrays in :attr:`stored_dtypes` narrowed to the file's dtypes."""
        state = {name: getattr(self, name) for name in self.__dataclass_fields__}
        for name, dtype in self.stored_dtypes.items():
            state[name] = state[name].astype(dtype)
        return _unpickle, (state,)

    @property
    def barycentric_julian_dates(self) -> FloatArray:
        """numpy.ndarray: ``TIME + BJDREFI + BJDREFF`` (float64, NaN kept)."""
        integer, fraction = self.bjd_reference
        return (self.time + float(integer)) + fraction


def _unpickle(state: dict[str, Any]) -> SpocLightCurve:
    """Rebuild a pickled :class:`SpocLightCurve`, widening its narrowed arrays back."""
    for name in state["stored_dtypes"]:
        state[name] = state[name].astype(np.int64 if state[name].dtype.kind in "iu"
                                         else np.float64)
    return SpocLightCurve(**state)


#: The :class:`SpocLightCurve` attribute of each ``LIGHTCURVE`` column read.
_FIELDS = {"TIME": "time", "CADENCENO": "cadence_numbers", "SAP_FLUX": "sap_flux",
           "SAP_FLUX_ERR": "sap_flux_err", "PDCSAP_FLUX": "pdcsap_flux",
           "PDCSAP_FLUX_ERR": "pdcsap_flux_err", "QUALITY": "quality"}

#: Keywords stored in a column as they are: judged by that column's rules
#: (:mod:`lightcurvedb.core.column_rules`) before any query uses them.
_STORED_IN: dict[str, Any] = {"TICID": Target.__table__.c.name,
                              "SECTOR": TESSObservation.__table__.c.sector}


def _keyword(path: pathlib.Path, header: fits.Header, name: str, where: str,
             kind: type = int) -> Any:
    if name not in header:
        raise LoaderError(path, f"{where} lacks keyword {name}")
    value = header_value(path, header, name, where)
    if isinstance(value, bool) or not isinstance(value, int if kind is int else (int, float)):
        raise LoaderError(path, f"{name} = {value!r} in {where} is not {kind.__name__}")
    if kind is float and not math.isfinite(value):
        raise LoaderError(path, f"{name} = {value!r} in {where} is not a finite number")
    if name in _STORED_IN:
        rule = column_rule(_STORED_IN[name])
        problem = rule.problem(value)
        if problem is not None:
            raise LoaderError(path, f"{name} = {value!r} in {where} cannot be stored in "
                                    f"{rule.label}: {problem}")
    return kind(value)


def read_position(path: pathlib.Path, primary: fits.Header) -> dict[str, Any]:
    """Read a SPOC primary header's target position, proper motion and TESS magnitude.

    SPOC copies them from the TIC: ``RA_OBJ``/``DEC_OBJ`` (deg, ICRS, at epoch
    J2000.0 with ``EQUINOX = 2000.0``), ``PMRA``/``PMDEC`` (mas/yr) and
    ``TESSMAG``. A card that is missing or blank (SPOC leaves ``PMRA`` blank for
    stars without a proper motion) is left out.

    Parameters
    ----------
    path : pathlib.Path
        The file, for messages.
    primary : astropy.io.fits.Header
        Its primary header.

    Returns
    -------
    dict
        :class:`~lightcurvedb.models.Target` attribute names (``ra``, ``dec``,
        ``epoch``, ``pm_ra``, ``pm_dec``, ``magnitude``, ``magnitude_band``) to
        values; empty when the header gives no position.

    Raises
    ------
    LoaderError
        For a card that is not a finite number, or a position off the sky,
        naming the card.
    """
    out: dict[str, Any] = {}
    for keyword, attribute in POSITION_KEYWORDS.items():
        value = header_value(path, primary, keyword, "the primary header", default=None)
        if value is None or isinstance(value, fits.card.Undefined) or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not np.isfinite(value):
            raise LoaderError(path, f"{keyword} = {value!r} in the primary header is not a "
                                    "finite number")
        out[attribute] = float(value)
    if ("ra" in out) != ("dec" in out):
        out.pop("ra", None)
        out.pop("dec", None)
    if "ra" in out:
        if not (0.0 <= out["ra"] < 360.0 and -90.0 <= out["dec"] <= 90.0):
            raise LoaderError(path, f"RA_OBJ/DEC_OBJ = {out['ra']}/{out['dec']} in the primary "
                                    "header is not a sky position")
        equinox = header_value(path, primary, "EQUINOX", "the primary header", default=None)
        if isinstance(equinox, (int, float)) and not isinstance(equinox, bool):
            out["epoch"] = float(equinox)
    if ("pm_ra" in out) != ("pm_dec" in out):
        out.pop("pm_ra", None)
        out.pop("pm_dec", None)
    if "magnitude" in out:
        out["magnitude_band"] = "TESS"
    return out


def _cadence_seconds(path: pathlib.Path, timedel: float) -> int:
    seconds = timedel * 86400.0
    best = min(CADENCES_SECONDS, key=lambda cadence: abs(seconds - cadence))
    if abs(seconds - best) > _CADENCE_TOLERANCE * best:
        raise LoaderError(path, f"TIMEDEL = {timedel} d ({seconds:.3f} s) is not a TESS cadence "
                                f"({', '.join(map(str, CADENCES_SECONDS))} s)")
    return best


def _column(path: pathlib.Path, data: Mapping[str, Any], rows: int, name: str, kinds: str,
            dtype: type) -> tuple[npt.NDArray[Any], str | None]:
    """Return a column as ``dtype``, and the narrower dtype the file stored it in (or None)."""
    array = np.asarray(data[name])
    if array.shape != (rows,):
        raise LoaderError(path, f"column {name} has shape {array.shape}, expected ({rows},)")
    if array.dtype.kind not in kinds:
        raise LoaderError(path, f"column {name} has dtype {array.dtype}, expected "
                                f"{'integers' if kinds == 'iu' else 'floats'}")
    with np.errstate(invalid="ignore"):  # a signalling NaN is cast to a quiet one
        wide: npt.NDArray[Any] = array.astype(dtype)
    narrower = array.dtype.itemsize < wide.dtype.itemsize
    return wide, array.dtype.newbyteorder("=").str if narrower else None


def _parse(path: pathlib.Path, hdul: fits.HDUList, content: FitsContent) -> SpocLightCurve:
    names = [hdu.name for hdu in hdul]
    for extname in ("LIGHTCURVE", "APERTURE"):
        if extname not in names:
            raise LoaderError(path, f"no {extname!r} HDU (found: {', '.join(names)})")
    table, aperture = hdul["LIGHTCURVE"], hdul["APERTURE"]
    if not isinstance(table, fits.BinTableHDU):
        raise LoaderError(path, "the 'LIGHTCURVE' HDU is not a binary table")
    if not isinstance(aperture, fits.ImageHDU) or aperture.data is None \
            or aperture.data.ndim != 2:
        raise LoaderError(path, "the 'APERTURE' HDU is not a 2-D image")
    primary, header = hdul[0].header, table.header
    tic_id = _keyword(path, primary, "TICID", "the primary header")
    table_tic_id = _keyword(path, header, "TICID", "the LIGHTCURVE header")
    if table_tic_id != tic_id:
        raise LoaderError(path, f"TIC id mismatch: TICID {tic_id} in the primary header but "
                                f"{table_tic_id} in the LIGHTCURVE header")
    sector = _keyword(path, primary, "SECTOR", "the primary header")
    camera = _keyword(path, primary, "CAMERA", "the primary header")
    ccd = _keyword(path, primary, "CCD", "the primary header")
    if sector < 1 or not (1 <= camera <= 4 and 1 <= ccd <= 4):
        raise LoaderError(path, f"invalid SECTOR/CAMERA/CCD {sector}/{camera}/{ccd} (sectors "
                                "start at 1; cameras and CCDs are 1-4)")
    timesys = str(header_value(path, header, "TIMESYS", "the LIGHTCURVE header", "TDB")
                  ).strip().upper()
    if timesys != "TDB":
        raise LoaderError(path, f"TIMESYS = {timesys!r}, expected 'TDB'")
    cadence = _cadence_seconds(path, _keyword(path, header, "TIMEDEL", "the LIGHTCURVE header",
                                              float))
    reference = (_keyword(path, header, "BJDREFI", "the LIGHTCURVE header"),
                 _keyword(path, header, "BJDREFF", "the LIGHTCURVE header", float))
    names = column_names(header)
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise LoaderError(path, f"the LIGHTCURVE table lacks column(s) {', '.join(missing)}")
    # the columns straight from the bytes just hashed; astropy's table when that cannot be
    data: Mapping[str, Any] | None = table_columns(header, content.data.get("LIGHTCURVE"),
                                                   REQUIRED_COLUMNS)
    if data is not None:
        rows = int(header["NAXIS2"])
    else:
        data = table.data
        rows = 0 if data is None else len(data)
    if data is None or rows == 0:
        raise LoaderError(path, "the LIGHTCURVE table has no rows")
    integers = ("CADENCENO", "QUALITY")     # judged first, then the floats
    read = {name: _column(path, data, rows, name, "iu", np.int64) for name in integers}
    read.update((name, _column(path, data, rows, name, "f", np.float64))
                for name in REQUIRED_COLUMNS if name not in integers)
    arrays: dict[str, Any] = {_FIELDS[name]: array for name, (array, _) in read.items()}
    if np.any(np.diff(arrays["cadence_numbers"]) <= 0):
        raise LoaderError(path, "CADENCENO is not strictly increasing")
    method = header_value(path, header, "PDCMETHD", "the LIGHTCURVE header", None)
    return SpocLightCurve(
        path=path, tic_id=tic_id, sector=sector, camera=camera, ccd=ccd, cadence_seconds=cadence,
        bjd_reference=reference, **arrays, aperture=np.asarray(aperture.data, dtype=np.int32),
        pdc_method=None if method is None else str(method).strip(),
        position=read_position(path, primary), sha256=content.sha256,
        size_bytes=content.size_bytes,
        stored_dtypes={_FIELDS[name]: narrow for name, (_, narrow) in read.items() if narrow})


#: The primary-header keywords :data:`NOT_SPOC` reads (the only ones its check parses).
_NOT_SPOC_KEYWORDS = product_keywords(NOT_SPOC)


def refuse_other_products(path: pathlib.Path, hdul: fits.HDUList) -> None:
    """Refuse a file that is another mission's or pipeline's product, naming it.

    The first check the reader makes, on the headers alone
    (:data:`~lightcurvedb.loaders.products.NOT_SPOC`).

    Raises
    ------
    LoaderError
        E.g. ``"a Kepler long-cadence light curve (TELESCOP = 'Kepler',
        KEPLERID = 11446443), not a TESS SPOC light curve"``.
    """
    found = identify(header_facts(hdul, _NOT_SPOC_KEYWORDS), NOT_SPOC)
    if found is not None:
        raise LoaderError(path, f"{found}, not a TESS SPOC light curve")


def read_spoc_lightcurve(path: str | os.PathLike[str]) -> SpocLightCurve:
    """Read and validate a SPOC light-curve file; write nothing.

    Parameters
    ----------
    path : path-like
        A ``*_lc.fits`` / ``*_fast-lc.fits`` file.

    Returns
    -------
    SpocLightCurve

    Raises
    ------
    LoaderError
        If the file is another mission's or pipeline's product, named from
        its headers before anything else is judged (Kepler and K2 light
        curves, TESS target pixel files, TESScut cutouts, full-frame images,
        QLP and other high-level light curves, other telescopes: see
        :func:`refuse_other_products`); if it is missing, truncated or
        corrupt (any astropy warning or error while reading; a ``CHECKSUM``
        or ``DATASUM`` that does not match the HDU's bytes, see
        :func:`~lightcurvedb.loaders.fitsfile.open_fits`; other warnings are
        passed on), lacks the ``LIGHTCURVE`` or
        ``APERTURE`` HDU, a required keyword or column, has TIC ids that differ
        between the primary and ``LIGHTCURVE`` headers, an invalid
        sector/camera/CCD, a ``TIMEDEL`` that is no TESS cadence, or cadence
        numbers that do not increase.
    """
    path = pathlib.Path(path)
    return read_fits(path, lambda hdul, content: _parse(path, hdul, content),
                     check=lambda hdul: refuse_other_products(path, hdul),
                     keep_data=("LIGHTCURVE",))
