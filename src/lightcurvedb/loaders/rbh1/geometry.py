"""Zone-1 measurements of one open file: its WCS solution and its wavelength grid.

:func:`read_wcs_solution` builds the sky footprint of an ``flc`` (convex hull
of both chips), ``drc`` (the image) or ``s3d`` (the celestial part of the
cube's WCS) with astropy's ``WCS.calc_footprint``, and derives the pixel
scale ``sqrt(|det CD|)`` from the celestial CD matrix (PC x CDELT for JWST).
:func:`read_spectral_grid` reads a cube's wavelengths through the spectral
sub-WCS, or from its ``WCS-TABLE`` extension when the header alone cannot
give them (``WAVE-TAB``).
"""

from __future__ import annotations

import hashlib
import pathlib
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
from astropy import units as u
from astropy.io import fits
from astropy.io.fits.verify import VerifyError
from astropy.wcs import WCS, FITSFixedWarning

from lightcurvedb.core.geometry import SkyPolygon, convex_hull
from lightcurvedb.loaders.report import LoaderError

__all__ = [
    "BENIGN_WCS_FIXES",
    "GridRecord",
    "RBH1FileError",
    "WCSRecord",
    "canonical_grid_hash",
    "celestial_wcs_summary",
    "read_spectral_grid",
    "read_wcs_solution",
]

#: WCSLIB fixes astropy announces (``FITSFixedWarning``) that change no geometry: they
#: are silenced; any other WCS warning refuses the file.
BENIGN_WCS_FIXES = ("'datfix'", "'unitfix'", "'obsfix'", "'spcfix'")
_MATRIX_KEYS = ("CD1_1", "CD1_2", "CD2_1", "CD2_2", "PC1_1", "PC1_2", "PC2_1", "PC2_2",
                "CDELT1", "CDELT2")


class RBH1FileError(LoaderError):
    """An RBH-1 file is refused; :attr:`stage` names the pipeline stage that failed.

    Parameters
    ----------
    path : path-like
        The file.
    reason : str
        Why.
    stage : str, optional
        ``observations`` (unreadable, unclassifiable, incomplete),
        ``wcs_solutions`` or ``spectral_grids``.
    """

    def __init__(self, path: str | pathlib.Path, reason: str, stage: str = "observations"
                 ) -> None:
        super().__init__(path, reason)
        self.stage = stage


@dataclass(frozen=True, eq=False)
class WCSRecord:
    """The celestial WCS of a file, as the ``wcs_solutions`` row stores it.

    ``keywords`` holds ``ctype1``, ``ctype2``, ``crval1``, ``crval2``,
    ``crpix1``, ``crpix2``, ``cd1_1`` ... ``cd2_2`` (deg/pixel), ``naxis1``,
    ``naxis2`` of the first SCI extension; ``chip_footprints`` the footprint
    of every SCI extension (both chips of an flc).
    """

    footprint: SkyPolygon
    footprint_method: str
    chip_footprints: tuple[SkyPolygon, ...]
    keywords: dict[str, Any]
    pixel_scale_arcsec: float

    @property
    def n_chips(self) -> int:
        """Number of SCI extensions combined."""
        return len(self.chip_footprints)

    @property
    def spans_arcsec(self) -> tuple[float, float]:
        """Footprint extent (RA x cos(Dec), Dec) in arcseconds."""
        ra_min, dec_min, ra_max, dec_max = self.footprint.bounds
        cos_dec = np.cos(np.radians((dec_min + dec_max) / 2))
        return float((ra_max - ra_min) * cos_dec * 3600.0), float((dec_max - dec_min) * 3600.0)


def canonical_grid_hash(wavelengths: npt.ArrayLike) -> str:
    """SHA-256 of the wavelengths as a contiguous float64 little-endian array."""
    return hashlib.sha256(np.ascontiguousarray(wavelengths, dtype="<f8").tobytes()).hexdigest()


@dataclass(frozen=True, eq=False)
class GridRecord:
    """The wavelength axis of a cube (micron) and how it was read."""

    wavelengths: npt.NDArray[np.float64]
    extraction_mode: str

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return int(self.wavelengths.size)

    @property
    def mean_spacing(self) -> float:
        """Mean channel spacing, micron."""
        return float(np.mean(np.diff(self.wavelengths)))

    @property
    def mean_resolution(self) -> float:
        """Mean sampling resolution R = lambda / delta-lambda over channels 2..n.

        Channel i has R_i = lambda_i / (lambda_i - lambda_(i-1)); a sampling
        proxy, not the instrumental resolving power.
        """
        lam = self.wavelengths
        return float(np.mean(lam[1:] / np.diff(lam)))

    @cached_property
    def grid_hash(self) -> str:
        """:func:`canonical_grid_hash` of the wavelengths."""
        return canonical_grid_hash(self.wavelengths)


def _number(path: pathlib.Path, header: fits.Header, key: str, where: str) -> float | None:
    """``header[key]`` as a finite float, None if absent; refuses NaN and garbage."""
    if key not in header:
        return None
    try:
        value = header[key]
    except VerifyError:
        raw = str(getattr(header.cards[key], "_image", ""))[10:].split("/")[0].strip()
        raise RBH1FileError(path, f"{key} = {raw or '?'} in {where} is not a finite number",
                            "wcs_solutions") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not np.isfinite(value):
        raise RBH1FileError(path, f"{key} = {value!r} in {where} is not a finite number",
                            "wcs_solutions")
    return float(value)


def celestial_wcs_summary(header: fits.Header, where: str = "SCI") -> str:
    """Say what a header holds of a celestial WCS, quoting it (never a default).

    Examples: ``"no celestial WCS in SCI: CTYPE1/2 missing, CRVAL1/2 = 0.0/0.0"``,
    ``"no celestial WCS in SCI: CTYPE1/2 and CRVAL1/2 missing"``,
    ``"celestial WCS in SCI not used: CTYPE1/2 = 'RA---TAN'/'DEC--TAN',
    CRVAL1/2 = 40.45/-8.35"``.
    """
    def card(key: str) -> Any:
        try:
            return header.get(key)
        except VerifyError:
            return "<unparsable>"

    ctype = [card("CTYPE1"), card("CTYPE2")]
    crval = [card("CRVAL1"), card("CRVAL2")]
    celestial = (str(ctype[0] or "").upper().startswith("RA--")
                 and str(ctype[1] or "").upper().startswith("DEC-")
                 and None not in crval and crval != [0.0, 0.0])

    def pair(name: str, values: list[Any], text: bool) -> str | None:
        if values == [None, None]:
            return None
        shown = [("(missing)" if v is None else repr(v) if text else str(v)) for v in values]
        return f"{name}1/2 = {shown[0]}/{shown[1]}"

    parts = [pair("CTYPE", ctype, True), pair("CRVAL", crval, False)]
    missing = [name for name, part in zip(("CTYPE", "CRVAL"), parts, strict=True)
               if part is None]
    found = [part for part in parts if part is not None]
    if missing:
        found.insert(0, " and ".join(f"{name}1/2" for name in missing) + " missing")
    lead = f"celestial WCS in {where} not used" if celestial else f"no celestial WCS in {where}"
    return f"{lead}: {', '.join(found)}"


def _checked_wcs(path: pathlib.Path, hdul: fits.HDUList, hdu: Any, kind: str) -> WCS:
    header, where = hdu.header, f"{hdu.name},{hdu.ver}"
    for key in ("CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2", *_MATRIX_KEYS):
        _number(path, header, key, where)
    summary = celestial_wcs_summary(header, where)
    if summary.startswith("no "):
        raise RBH1FileError(path, f"{summary}: {kind} files need a celestial (RA/Dec) WCS",
                            "wcs_solutions")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FITSFixedWarning)
        try:
            wcs = WCS(header, fobj=hdul)
        except (ValueError, MemoryError, KeyError) as exc:
            raise RBH1FileError(path, f"invalid WCS in {where}: {exc}", "wcs_solutions") \
                from None
    for warning in caught:
        text = str(warning.message)
        if issubclass(warning.category, FITSFixedWarning) and \
                any(fix in text for fix in BENIGN_WCS_FIXES):
            continue
        if issubclass(warning.category, FITSFixedWarning):
            raise RBH1FileError(path, f"invalid WCS in {where}: {text.splitlines()[0]}",
                                "wcs_solutions")
        warnings.warn_explicit(warning.message, warning.category, warning.filename,
                               warning.lineno)
    return wcs


def read_wcs_solution(path: pathlib.Path, hdul: fits.HDUList, kind: str) -> WCSRecord:
    """Compute the WCS solution of an open ``flc``, ``drc`` or ``s3d`` file.

    Parameters
    ----------
    path : pathlib.Path
        The file (for error messages).
    hdul : astropy.io.fits.HDUList
        The open file.
    kind : str
        Its type: ``flc`` (every SCI chip, footprint = their convex hull),
        ``drc`` (one image) or ``s3d`` (celestial sub-WCS of the cube).

    Returns
    -------
    WCSRecord

    Raises
    ------
    RBH1FileError
        Stage ``wcs_solutions``: ``CRVAL1/2 = 0/0``, non-celestial ``CTYPE``,
        a non-finite value among CRVAL/CRPIX/CD/PC/CDELT, a singular matrix,
        a WCS astropy refuses, or a footprint that is not a valid polygon.
    """
    sci = [hdu for hdu in hdul[1:] if hdu.name == "SCI"]
    chips: list[SkyPolygon] = []
    first: dict[str, Any] | None = None
    scale = 0.0
    for hdu in sci:
        wcs = _checked_wcs(path, hdul, hdu, kind).celestial
        header = hdu.header
        scale_matrix = wcs.pixel_scale_matrix
        det = float(np.linalg.det(scale_matrix))
        if not np.isfinite(scale_matrix).all() or det == 0.0:
            raise RBH1FileError(path, f"singular or non-finite CD matrix in "
                                      f"{hdu.name},{hdu.ver}", "wcs_solutions")
        shape = (int(header["NAXIS1"]), int(header["NAXIS2"]))
        corners = wcs.calc_footprint(axes=shape)
        if not np.isfinite(corners).all():
            raise RBH1FileError(path, f"non-finite footprint corners in {hdu.name},{hdu.ver}",
                                "wcs_solutions")
        chips.append(SkyPolygon(tuple(map(tuple, corners))))
        if first is None:
            first = {"ctype1": str(wcs.wcs.ctype[0]), "ctype2": str(wcs.wcs.ctype[1]),
                     "crval1": float(wcs.wcs.crval[0]), "crval2": float(wcs.wcs.crval[1]),
                     "crpix1": float(wcs.wcs.crpix[0]), "crpix2": float(wcs.wcs.crpix[1]),
                     "cd1_1": float(scale_matrix[0, 0]), "cd1_2": float(scale_matrix[0, 1]),
                     "cd2_1": float(scale_matrix[1, 0]), "cd2_2": float(scale_matrix[1, 1]),
                     "naxis1": shape[0], "naxis2": shape[1]}
            scale = float(np.sqrt(abs(det)) * 3600.0)
        if kind != "flc":
            break
    assert first is not None
    if kind == "flc" and len(chips) > 1:
        footprint = convex_hull(v for chip in chips for v in chip.vertices)
        method = "convex_hull"
    else:
        footprint, method = chips[0], "celestial_subwcs" if kind == "s3d" else "single"
    if not footprint.is_valid():
        raise RBH1FileError(path, f"the footprint {footprint.to_wkt()} is not a valid polygon",
                            "wcs_solutions")
    return WCSRecord(footprint, method, tuple(chips), first, scale)


def _grid_from_table(path: pathlib.Path, hdul: fits.HDUList, n_channels: int,
                     unit: str) -> npt.NDArray[np.float64]:
    if "WCS-TABLE" not in [hdu.name for hdu in hdul]:
        raise RBH1FileError(path, "the spectral axis cannot be read from the header and there "
                                  "is no WCS-TABLE extension to fall back on", "spectral_grids")
    table = hdul["WCS-TABLE"]
    names = {name.lower(): name for name in table.columns.names}
    if "wavelength" not in names:
        raise RBH1FileError(path, "the WCS-TABLE extension has no wavelength column",
                            "spectral_grids")
    column = table.columns[names["wavelength"]]
    values = np.asarray(table.data[column.name], dtype=np.float64).ravel()
    return (values * u.Unit(column.unit or unit)).to_value(u.um)


def read_spectral_grid(path: pathlib.Path, hdul: fits.HDUList) -> GridRecord:
    """Read the wavelength of every channel of an open ``s3d`` cube, in micron.

    The spectral sub-WCS of the ``SCI`` header is tried first
    (``WCS(header).spectral.pixel_to_world_values``, mode ``spectral_subwcs``);
    when the header alone cannot give the wavelengths (``WAVE-TAB``) the
    ``wavelength`` column of the ``WCS-TABLE`` extension is read (mode
    ``wavetab``).

    Raises
    ------
    RBH1FileError
        Stage ``spectral_grids``: no usable spectral axis, a channel count
        unlike ``NAXIS3``, or wavelengths that are not finite and increasing.
    """
    header = hdul["SCI"].header
    n_channels = int(header.get("NAXIS3", 0))
    unit = str(header.get("CUNIT3", "um")).strip() or "um"
    mode = "spectral_subwcs"
    try:
        if str(header.get("CTYPE3", "")).upper().endswith("-TAB"):
            raise ValueError("WAVE-TAB")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FITSFixedWarning)  # checked already
            spectral = WCS(header).spectral
        values = np.asarray(spectral.pixel_to_world_values(np.arange(n_channels)), dtype=float)
        wavelengths = (values * u.Unit(spectral.wcs.cunit[0])).to_value(u.um)
    except (ValueError, KeyError, u.UnitsError, IndexError):
        wavelengths, mode = _grid_from_table(path, hdul, n_channels, unit), "wavetab"
    wavelengths = np.asarray(wavelengths, dtype=np.float64)
    if wavelengths.size != n_channels or n_channels < 2:
        raise RBH1FileError(path, f"{wavelengths.size} wavelengths for NAXIS3 = {n_channels} "
                                  "channels", "spectral_grids")
    if not np.isfinite(wavelengths).all() or np.any(np.diff(wavelengths) <= 0):
        raise RBH1FileError(path, "the wavelengths are not finite and strictly increasing",
                            "spectral_grids")
    return GridRecord(wavelengths, mode)
