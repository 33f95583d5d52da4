"""Measuring a DSA-110 image from its FITS file (documented with :mod:`~.products_service`).

An image is one plane: RA and Dec on axes 1 and 2, every further axis of
length 1 (WSClean and CASA ``exportfits`` write ``FREQ`` and ``STOKES`` axes
of one pixel each). A spectral axis longer than one pixel makes the file a
cube, more than one Stokes plane a polarisation cube: both are refused,
since one ``images`` row can describe one plane only. The frequency of the
plane comes from its spectral axis: a ``FREQ`` axis directly, a velocity or
redshift axis through the rest frequency (``RESTFRQ``, or the older
``RESTFREQ``) and the axis's Doppler convention.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Callable
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyError

from lightcurvedb.loaders.fitsfile import FitsContent, read_fits, verify_reason
from lightcurvedb.loaders.report import LoaderError
from lightcurvedb.radio._errors import ImageFileError

__all__ = ["ImageProperties", "read_image_properties"]

#: Scale from the median absolute deviation to a Gaussian sigma.
_MAD_TO_SIGMA = 1.4826
#: Speed of light (m/s).
_C = 299_792_458.0
#: Spectral axis types of the FITS WCS standard (Greisen et al. 2006), and AIPS's FELO.
_SPECTRAL = ("FREQ", "ENER", "WAVN", "VRAD", "WAVE", "VOPT", "ZOPT", "AWAV", "VELO", "BETA",
             "FELO")
#: Algorithm codes of the standard (``VELO-F2V``); anything else after ``VELO-`` is a frame.
_ALGORITHM = re.compile(r"[FWAV]2[FWAV]|LOG|GRI|GRA|TAB")
_FREQUENCY_UNITS = {"Hz": 1.0, "kHz": 1e3, "MHz": 1e6, "GHz": 1e9}
_VELOCITY_UNITS = {"m/s": 1.0, "km/s": 1e3}

#: Observed frequency from a velocity-like value (SI) and the rest frequency (Hz).
_Doppler = Callable[[float, float], float]


def _radio(v: float, rest: float) -> float:
    return rest * (1.0 - v / _C)


def _optical(v: float, rest: float) -> float:
    return rest / (1.0 + v / _C)


def _relativistic(v: float, rest: float) -> float:
    return rest * math.sqrt((_C - v) / (_C + v))


def _redshift(z: float, rest: float) -> float:
    return rest / (1.0 + z)


def _beta(b: float, rest: float) -> float:
    return rest * math.sqrt((1.0 - b) / (1.0 + b))


@dataclasses.dataclass(frozen=True)
class ImageProperties:
    """What :func:`read_image_properties` measured; the ``images`` columns of the same names."""

    imsize_x: int
    imsize_y: int
    cellsize_arcsec: float
    center_ra_deg: float
    center_dec_deg: float
    beam_major_arcsec: float | None
    beam_minor_arcsec: float | None
    beam_pa_deg: float | None
    freq_ghz: float | None
    bandwidth_mhz: float | None
    noise_jy: float
    dynamic_range: float | None
    field_name: str | None
    mjd_obs: float | None


class _Unreadable(LoaderError):
    """What :func:`~lightcurvedb.loaders.fitsfile.read_fits` refused (becomes ImageFileError)."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        return None
    return float(value) if math.isfinite(float(value)) else None


def _header_float(header: Any, key: str) -> float | None:
    return _number(header.get(key))


def _ctype(header: Any, axis: int) -> str:
    return str(header.get(f"CTYPE{axis}", "")).strip().upper()


def _plane_problem(header: Any) -> str | None:
    """Why the image is not one plane (a cube), or None."""
    for axis in range(3, int(header.get("NAXIS", 0)) + 1):
        length, ctype = int(header.get(f"NAXIS{axis}", 1)), _ctype(header, axis)
        if length <= 1:
            continue
        where = f"on axis {axis} (CTYPE{axis} = {ctype!r})"
        if ctype[:4] in _SPECTRAL:
            return f"a spectral cube: {length} channels {where}; register continuum images only"
        if ctype == "STOKES":
            return f"{length} Stokes planes {where}; register single-Stokes images only"
        return f"{length} planes {where}; register single-plane images only"
    return None


def _read_plane(hdul: fits.HDUList, content: FitsContent
                ) -> tuple[fits.Header, np.ndarray | None, str | None] | None:
    """Return the first image HDU's header and plane, or its header and why it is no plane."""
    for hdu in hdul:
        if not hdu.is_image or int(hdu.header.get("NAXIS", 0)) < 2:
            continue
        header = hdu.header.copy()
        problem = _plane_problem(header)
        if problem is not None:
            return header, None, problem
        if hdu.data is None:
            continue
        data = np.asarray(hdu.data, dtype=np.float64)
        return header, data.reshape(data.shape[-2:]), None
    return None


def _doppler(header: Any, ctype: str) -> _Doppler | None:
    """Return the velocity convention of a spectral axis type; None for other axes."""
    base, code = ctype[:4], ctype[5:].strip() if ctype[4:5] == "-" else ""
    if base == "VELO":
        if not code or _ALGORITHM.fullmatch(code):
            return _relativistic       # the standard's apparent radial velocity
        # AIPS/Miriad VELO-LSR, VELO-HEL, ...: VELREF > 256 (or absent) means radio.
        velref = _header_float(header, "VELREF")
        return _optical if velref is not None and 0 < velref <= 256 else _radio
    return {"VRAD": _radio, "VOPT": _optical, "FELO": _optical, "ZOPT": _redshift,
            "BETA": _beta}.get(base)


def _unit(path: str | os.PathLike[str], header: Any, axis: int, units: dict[str, float],
          default: str, what: str) -> float:
    text = str(header.get(f"CUNIT{axis}", "")).strip() or default
    by_upper = {name.upper(): factor for name, factor in units.items()}
    if text.upper() not in by_upper:
        raise ImageFileError(path, f"CUNIT{axis} = {text!r} is not a unit of {what} "
                                   f"({', '.join(units)})")
    return by_upper[text.upper()]


def _wcs_axes(header: Any) -> int:
    """Return the number of WCS axes: ``WCSAXES``, else max(``NAXIS``, highest ``CTYPEn``).

    The FITS standard lets a header describe more axes than its data has: AIPS
    cutouts keep ``CTYPE3 = 'FREQ'`` and ``CTYPE4 = 'STOKES'`` with ``NAXIS = 2``.
    """
    declared = _number(header.get("WCSAXES"))
    if declared is not None:
        return int(declared)
    described = [i for i in range(1, 10) if f"CTYPE{i}" in header]
    return max([int(header.get("NAXIS", 0)), *described])


def _date_obs_mjd(path: str | os.PathLike[str], text: str) -> float:
    """MJD (UTC) of ``DATE-OBS``: ISO 8601, or the older ``DD/MM/YY`` and ``YYYYMMDD`` forms."""
    from astropy.time import Time

    text = text.strip()
    old = re.fullmatch(r"(\d\d)/(\d\d)/(\d\d)", text)        # FITS before 2000: 19YY
    compact = re.fullmatch(r"(\d{4})(\d\d)(\d\d)", text)     # e.g. FIRST cutouts
    iso = (f"19{old[3]}-{old[2]}-{old[1]}" if old else
           f"{compact[1]}-{compact[2]}-{compact[3]}" if compact else text)
    try:
        return float(Time(iso, scale="utc").mjd)
    except ValueError:
        raise ImageFileError(path, f"DATE-OBS {text!r} is not a date") from None


def _frequency(path: str | os.PathLike[str], header: Any) -> tuple[float | None, float | None]:
    """``(frequency, bandwidth)`` in Hz of the image's spectral axis (None, None without one)."""
    axis = next((i for i in range(3, _wcs_axes(header) + 1)
                 if _ctype(header, i)[:4] in _SPECTRAL), None)
    if axis is None:
        return None, None
    ctype = _ctype(header, axis)
    crval = _header_float(header, f"CRVAL{axis}")
    cdelt = _header_float(header, f"CDELT{axis}")
    crpix = _header_float(header, f"CRPIX{axis}")
    if crval is None:
        return None, None
    # The world value of pixel 1, the one plane (the reference value when CRPIX is absent).
    value = crval + (1.0 - crpix) * cdelt if crpix is not None and cdelt is not None else crval
    if ctype[:4] == "FREQ":
        scale = _unit(path, header, axis, _FREQUENCY_UNITS, "Hz", "frequency")
        return value * scale, None if cdelt is None else abs(cdelt) * scale
    convert = _doppler(header, ctype)
    rest = _header_float(header, "RESTFRQ")
    if rest is None:
        rest = _header_float(header, "RESTFREQ")
    if convert is None or rest is None or rest <= 0:
        return None, None
    scale = 1.0 if ctype[:4] in ("ZOPT", "BETA") else \
        _unit(path, header, axis, _VELOCITY_UNITS, "m/s", "velocity")
    try:
        freq = convert(value * scale, rest)
        width = None if cdelt is None else abs(convert((value - cdelt / 2) * scale, rest)
                                               - convert((value + cdelt / 2) * scale, rest))
    except (ValueError, ZeroDivisionError):
        freq = width = math.nan
    if not (math.isfinite(freq) and freq > 0) or (width is not None and not math.isfinite(width)):
        raise ImageFileError(path, f"CRVAL{axis} = {crval} and CDELT{axis} = {cdelt} "
                                   f"({ctype}) give no frequency with rest frequency {rest} Hz")
    return freq, width


def read_image_properties(path: str | os.PathLike[str]) -> ImageProperties:
    """Measure a radio image from its FITS header and pixels.

    The file is opened with :func:`~lightcurvedb.loaders.fitsfile.read_fits`,
    like every reader's: gzip and bzip2 files are read, ``CHECKSUM`` and
    ``DATASUM`` verified. The image must be one plane: axes beyond RA and
    Dec of length 1 (see :mod:`lightcurvedb.radio.products_service`). The
    beam comes from ``BMAJ``/``BMIN`` (degrees, stored in arcsec) and ``BPA``
    (degrees); frequency and bandwidth from the spectral axis (``CRVALn``,
    ``CDELTn`` of ``FREQ`` in ``CUNITn``, default Hz; of a velocity axis
    ``VRAD``, ``VOPT``, ``FELO``, ``VELO``, ``ZOPT`` or ``BETA`` converted
    with ``RESTFRQ``/``RESTFREQ``, empty without one); the centre is the
    reference (phase) position ``CRVAL1``/``CRVAL2``; the cell size
    ``|CDELT2|``; the noise 1.4826 x the median absolute deviation of the
    finite pixels (robust to the sources); the dynamic range peak / noise.

    Raises
    ------
    ImageFileError
        If the file is missing, not FITS, damaged (a checksum that does not
        match names the HDU), has no 2-D image, is a spectral or Stokes cube,
        is not in ``JY/BEAM``, lacks the celestial axes, has a spectral axis
        in unknown units, or has no finite pixel; a header card astropy cannot
        parse (``BMAJ = NAN``) is ``unparsable value for BMAJ``.
    """
    try:
        found = read_fits(path, _read_plane, error=_Unreadable)
    except _Unreadable as exc:
        raise ImageFileError(path, f"not a readable FITS image: {exc.reason}") from None
    try:
        return _measure(path, found)
    except VerifyError as exc:  # a card astropy cannot parse, e.g. CRVAL1 = NAN
        raise ImageFileError(path, verify_reason(exc)) from None


def _measure(path: str | os.PathLike[str], found: Any) -> ImageProperties:
    if found is None:
        raise ImageFileError(path, "no image data in any HDU")
    header, data, problem = found
    if problem is not None or data is None:
        raise ImageFileError(path, problem or "no image data in any HDU")
    unit = str(header.get("BUNIT", "")).strip().upper()
    if unit not in ("JY/BEAM", "JY BEAM-1"):
        raise ImageFileError(path, f"BUNIT is {header.get('BUNIT')!r}, not JY/BEAM")
    if not _ctype(header, 1).startswith("RA--") or not _ctype(header, 2).startswith("DEC-"):
        raise ImageFileError(path, f"axes 1-2 are not RA/Dec: CTYPE1/2 = "
                                   f"{header.get('CTYPE1')!r}/{header.get('CTYPE2')!r}")
    needed = {key: _header_float(header, key) for key in ("CRVAL1", "CRVAL2", "CDELT2")}
    missing = [key for key, value in needed.items() if value is None]
    if missing:
        raise ImageFileError(path, f"missing or non-numeric {', '.join(missing)}")
    pixels = data[np.isfinite(data)]
    if pixels.size == 0:
        raise ImageFileError(path, "no finite pixel")
    noise = _MAD_TO_SIGMA * float(np.median(np.abs(pixels - np.median(pixels))))
    peak = float(pixels.max())
    freq, width = _frequency(path, header)
    bmaj, bmin = _header_float(header, "BMAJ"), _header_float(header, "BMIN")
    mjd = _header_float(header, "MJD-OBS")
    if mjd is None and str(header.get("DATE-OBS", "")).strip():
        mjd = _date_obs_mjd(path, str(header["DATE-OBS"]))
    return ImageProperties(
        imsize_x=int(header["NAXIS1"]), imsize_y=int(header["NAXIS2"]),
        cellsize_arcsec=abs(needed["CDELT2"] or 0.0) * 3600.0,
        center_ra_deg=needed["CRVAL1"] or 0.0, center_dec_deg=needed["CRVAL2"] or 0.0,
        beam_major_arcsec=None if bmaj is None else bmaj * 3600.0,
        beam_minor_arcsec=None if bmin is None else bmin * 3600.0,
        beam_pa_deg=_header_float(header, "BPA"),
        freq_ghz=None if freq is None else freq / 1e9,
        bandwidth_mhz=None if width is None else width / 1e6,
        noise_jy=noise, dynamic_range=peak / noise if noise > 0 else None,
        field_name=str(header.get("OBJECT", "")).strip() or None,
        mjd_obs=mjd)
