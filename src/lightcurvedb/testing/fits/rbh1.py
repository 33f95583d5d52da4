"""A miniature RBH-1 data set: HST WFC3/UVIS and JWST NIRSpec IFU files in the real layouts.

:func:`write_rbh1_set` writes the seed's 194 files (72 ``_flc``, 70 ``_drc``,
16 ``_cal``, 18 ``_x1d``, 18 ``_s3d``) pointed at RBH-1 (RA 40.45, Dec -8.35);
the per-type writers write one file each and the ``write_*`` helpers at the
end write broken copies for failure tests.

The files are *miniature*: headers carry the real keyword sets, HDU layouts
and pixel scales (WFC3/UVIS 0.04"/pixel, NIRSpec IFU cubes 0.10"/spaxel), but
the arrays are small (``_flc`` chips 128 x 64 pixels with a 31-pixel chip gap,
``_drc`` 160 x 160, cubes 1447 x 12 x 12), so footprints span a few
arcseconds instead of the real ~160" (UVIS) and 3" (IFU). The two HAP
"skycell" mosaics keep their real ~700-900" extent by using coarse pixels
(4.5" and 5.5"); their ``CRVAL`` lies 6000" east and west of the target, with
``CRPIX`` far outside the image, as in real projection-cell products. Every
cube has the same linear wavelength grid, 1447 channels of 0.636 nm from
0.970 to 1.890 um (``CTYPE3 = 'WAVE'``, ``CRVAL3 = 0.97``,
``CDELT3 = 0.92 / 1446``), repeated in a ``WCS-TABLE`` extension.
"""

from __future__ import annotations

import datetime as dt
import os
import pathlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from astropy.io import fits
from astropy.wcs import WCS

from lightcurvedb.testing.fits.tess import write_truncated_copy

__all__ = [
    "DEFAULT_COUNTS", "HST_PROGRAM", "JWST_PROGRAM", "NIRSPEC_DETECTORS", "RBH1_DEC",
    "RBH1_RA", "S3D_CHANNELS", "S3D_WAVELENGTH_RANGE", "S3D_WAVELENGTH_STEP", "jwst_filename",
    "nirspec_wavelengths",
    "write_nirspec_cal", "write_nirspec_s3d", "write_nirspec_x1d", "write_rbh1_set",
    "write_truncated_copy", "write_wfc3_drc", "write_wfc3_flc", "write_with_nan_cd",
    "write_with_zero_crval", "write_without_sci",
]

PathLike = str | os.PathLike[str]
#: Position of RBH-1's compact source (degrees).
RBH1_RA, RBH1_DEC = 40.45, -8.35
#: HST proposal and JWST program of the data set.
HST_PROGRAM, JWST_PROGRAM = 17301, 3149
#: Files per type in the seed's data set (194 in all).
DEFAULT_COUNTS: Mapping[str, int] = {"flc": 72, "drc": 70, "cal": 16, "x1d": 18, "s3d": 18}
#: Channels, first and last wavelength (micron) and channel step of the G140M/F100LP
#: cubes: 0.92 um / 1446 = 0.63624 nm.
S3D_CHANNELS, S3D_WAVELENGTH_RANGE = 1447, (0.970, 1.890)
S3D_WAVELENGTH_STEP = (S3D_WAVELENGTH_RANGE[1] - S3D_WAVELENGTH_RANGE[0]) / (S3D_CHANNELS - 1)
_UVIS_SCALE, _IFU_SCALE = 0.04, 0.10            # arcsec per pixel
_FILTERS = ("F200LP", "F350LP")
_REDSHIFT, _C_KMS = 0.964, 299_792.458
_LINES = ((0.49590, 0.3), (0.50068, 0.9), (0.65480, 0.15), (0.65628, 1.0), (0.65835, 0.45),
          (0.67164, 0.25), (0.67308, 0.2))   # [OIII], [NII], H-alpha, [SII]: rest um, ratio
_MJD0 = dt.datetime(1858, 11, 17)
_CHECKSUM_TIME = "2023-09-01T10:11:12"
_JWST_DEFAULTS: dict[str, Any] = {"program": JWST_PROGRAM, "observation": 1, "visit": 1,
                                  "exposure": 1, "detector": "nrs1", "expstart": 60162.3,
                                  "exptime": 2918.0}
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
#: NIRSpec's two detectors, as in file names (``..._nrs1_cal.fits``).
NIRSPEC_DETECTORS = ("nrs1", "nrs2")


def _start_step(n_channels: int, wavelength_range: tuple[float, float] | None
                ) -> tuple[float, float]:
    low, high = S3D_WAVELENGTH_RANGE if wavelength_range is None else wavelength_range
    return low, (high - low) / (n_channels - 1)


def nirspec_wavelengths(n_channels: int = S3D_CHANNELS,
                        wavelength_range: tuple[float, float] | None = None
                        ) -> npt.NDArray[np.float64]:
    """Return the linear cube wavelength grid in micron (what the cube headers describe).

    ``n_channels`` equally spaced wavelengths from the first to the last of
    ``wavelength_range`` (default :data:`S3D_WAVELENGTH_RANGE`, 0.970-1.890 um).
    """
    start, step = _start_step(n_channels, wavelength_range)
    return np.asarray(start + np.arange(n_channels) * step, dtype=np.float64)


def jwst_filename(suffix: str, *, program: int = JWST_PROGRAM, observation: int = 1,
                  visit: int = 1, exposure: int = 1, detector: str = "nrs1") -> str:
    """Return a JWST stage-2 file name, e.g. ``jw03149001001_03101_00001_nrs1_cal.fits``."""
    return (f"jw{program:05d}{observation:03d}{visit:03d}_03101_{exposure:05d}_"
            f"{detector.lower()}_{suffix}.fits")


def _target(path: PathLike, name: str) -> pathlib.Path:
    target = pathlib.Path(path)
    return target / name if target.is_dir() else target


def _date_time(mjd: float) -> tuple[str, str]:
    when = _MJD0 + dt.timedelta(days=mjd)
    return when.strftime("%Y-%m-%d"), when.strftime("%H:%M:%S.%f")[:12]


def _offset(ra: float, dec: float, east: float, north: float) -> tuple[float, float]:
    """Move (ra, dec) by ``east``/``north`` arcseconds (small offsets)."""
    return ra + east / 3600.0 / np.cos(np.radians(dec)), dec + north / 3600.0


def _celestial(crpix: tuple[float, float], crval: tuple[float, float], scale: float,
               rotation: float = 0.0, *, style: str = "cd") -> dict[str, Any]:
    """TAN keywords; ``style`` 'cd' (HST: CD matrix) or 'pc' (JWST: PC + CDELT), degrees."""
    s, c = np.sin(np.radians(rotation)), np.cos(np.radians(rotation))
    cards: dict[str, Any] = {"WCSAXES": 2, "CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN",
                             "CUNIT1": "deg", "CUNIT2": "deg", "CRPIX1": crpix[0],
                             "CRPIX2": crpix[1], "CRVAL1": crval[0], "CRVAL2": crval[1]}
    if style == "cd":
        d = scale / 3600.0
        cards.update({"CD1_1": -d * c, "CD1_2": d * s, "CD2_1": d * s, "CD2_2": d * c,
                      "ORIENTAT": rotation})
    else:
        cards.update({"CDELT1": scale / 3600.0, "CDELT2": scale / 3600.0, "PC1_1": -c,
                      "PC1_2": s, "PC2_1": s, "PC2_2": c})
    return cards


def _hst_primary(rootname: str, filename: str, filter_name: str, expstart: float,
                 exptime: float, program_id: int, nextend: int, linenum: str | None
                 ) -> fits.PrimaryHDU:
    date, time = _date_time(expstart)
    primary = fits.PrimaryHDU()
    primary.header.update({
        "NEXTEND": nextend, "ORIGIN": "HSTIO/CFITSIO March 2010", "DATE": "2023-08-20",
        "FILENAME": filename, "FILETYPE": "SCI", "TELESCOP": "HST", "INSTRUME": "WFC3",
        "EQUINOX": 2000.0, "ROOTNAME": rootname, "PRIMESI": "WFC3", "TARGNAME": "RBH-1",
        "RA_TARG": RBH1_RA, "DEC_TARG": RBH1_DEC, "PROPOSID": program_id,
        **({"LINENUM": linenum} if linenum else {}), "DETECTOR": "UVIS",
        "FILTER": filter_name, "APERTURE": "UVIS-CENTER", "OBSTYPE": "IMAGING",
        "OBSMODE": "ACCUM", "DATE-OBS": date, "TIME-OBS": time, "EXPSTART": expstart,
        "EXPEND": expstart + exptime / 86400.0, "EXPTIME": exptime, "TEXPTIME": exptime,
        "CAL_VER": "3.7.1(Oct-18-2023)", "PA_V3": 121.3,
    })
    return primary


def _image(name: str, data: npt.NDArray[Any], extver: int = 1, **cards: Any) -> fits.ImageHDU:
    hdu = fits.ImageHDU(data, name=name, ver=extver)
    hdu.header.update(cards)
    return hdu


def _write(hdus: Any, target: pathlib.Path) -> pathlib.Path:
    """Write with CHECKSUM/DATASUM stamped at a fixed time, so equal inputs give equal bytes."""
    hdul = fits.HDUList(list(hdus))
    hdul.update_extend()
    for hdu in hdul:
        hdu.add_checksum(when=_CHECKSUM_TIME)
    hdul.writeto(target, overwrite=True)
    return target


def _sky(rng: np.random.Generator, shape: tuple[int, ...], level: float
         ) -> npt.NDArray[np.float32]:
    return (level + rng.normal(0.0, np.sqrt(level), shape)).astype(np.float32)


def write_wfc3_flc(path: PathLike, *, seed: int = 0, ra: float = RBH1_RA, dec: float = RBH1_DEC,
                   rootname: str = "iexo01abq", filter_name: str = "F350LP",
                   expstart: float = 60150.1, exptime: float = 1200.0,
                   orientation: float = 30.0, program_id: int = HST_PROGRAM,
                   linenum: str = "01.001", chip_shape: tuple[int, int] = (64, 128),
                   gap_pixels: int = 31) -> pathlib.Path:
    """Write a WFC3/UVIS ``_flc`` file: two SCI chips (EXTVER 1, 2) with ERR and DQ each.

    ``SCI,1`` is UVIS2 (``CCDCHIP = 2``), the lower chip; ``SCI,2`` is UVIS1,
    ``gap_pixels`` rows above it. Both are 0.04"/pixel TAN projections rotated
    by ``orientation`` degrees, each with ``CRVAL`` at its own centre, around
    the pointing (``ra``, ``dec``). ``path`` may be a directory (then
    ``<rootname>_flc.fits`` is written into it). Returns the file.
    """
    target = _target(path, f"{rootname}_flc.fits")
    rng = np.random.default_rng(seed)
    rows, cols = chip_shape
    height = 2 * rows + gap_pixels
    frame = WCS(naxis=2)
    d, c, s = (_UVIS_SCALE / 3600.0, np.cos(np.radians(orientation)),
               np.sin(np.radians(orientation)))
    frame.wcs.ctype, frame.wcs.crval = ["RA---TAN", "DEC--TAN"], [ra, dec]
    frame.wcs.crpix = [(cols + 1) / 2, (height + 1) / 2]
    frame.wcs.cd = [[-d * c, d * s], [d * s, d * c]]
    hdus: list[Any] = [_hst_primary(rootname, target.name, filter_name, expstart, exptime,
                                    program_id, 6, linenum)]
    for extver, chip, first_row in ((1, 2, 0), (2, 1, rows + gap_pixels)):
        centre = ((cols + 1) / 2, (rows + 1) / 2)
        crval = frame.wcs_pix2world([[centre[0], first_row + centre[1]]], 1)[0]
        wcs = _celestial(centre, (float(crval[0]), float(crval[1])), _UVIS_SCALE, orientation)
        sci = _sky(rng, chip_shape, 60.0)
        dq = np.zeros(chip_shape, dtype=np.int16)
        dq[rng.integers(rows, size=5), rng.integers(cols, size=5)] = 16     # hot pixels
        common: dict[str, Any] = {"CCDCHIP": chip, "WCSNAME": "IDC_2731450pi-FIT_REL_GAIAeDR3",
                  "RADESYS": "ICRS", **wcs}
        hdus += [_image("SCI", sci, extver, BUNIT="ELECTRONS", **common),
                 _image("ERR", np.sqrt(np.abs(sci)) + 3.1, extver, BUNIT="ELECTRONS", **common),
                 _image("DQ", dq, extver, **common)]
    return _write(hdus, target)


def write_wfc3_drc(path: PathLike, *, seed: int = 0, ra: float = RBH1_RA, dec: float = RBH1_DEC,
                   rootname: str = "iexo01abq", filter_name: str = "F350LP",
                   expstart: float = 60150.1, exptime: float = 1200.0,
                   program_id: int = HST_PROGRAM, linenum: str | None = "01.001",
                   shape: tuple[int, int] = (160, 160), pixel_scale: float = _UVIS_SCALE,
                   crval_offset_arcsec: tuple[float, float] = (0.0, 0.0)) -> pathlib.Path:
    """Write a drizzled WFC3/UVIS ``_drc`` file: SCI (e-/s), WHT and CTX, north up.

    The image centre is at (``ra``, ``dec``). A non-zero
    ``crval_offset_arcsec`` (east, north) moves ``CRVAL`` away and ``CRPIX``
    with it so the image stays put, as in HAP skycell mosaics, whose
    reference point is their projection cell's centre. ``path`` may be a
    directory (``<rootname>_drc.fits`` is written into it). Returns the file.
    """
    target = _target(path, f"{rootname}_drc.fits")
    rng = np.random.default_rng(seed)
    centre = ((shape[1] + 1) / 2, (shape[0] + 1) / 2)
    crval = _offset(ra, dec, *crval_offset_arcsec)
    crpix = centre
    if crval_offset_arcsec != (0.0, 0.0):
        wcs = WCS(naxis=2)
        wcs.wcs.ctype, wcs.wcs.crval, wcs.wcs.crpix = ["RA---TAN", "DEC--TAN"], crval, [0, 0]
        wcs.wcs.cd = np.diag([-pixel_scale / 3600.0, pixel_scale / 3600.0])
        where = wcs.wcs_world2pix([[ra, dec]], 1)[0]
        crpix = (centre[0] - float(where[0]), centre[1] - float(where[1]))
    cards = {"WCSNAME": "IDC_2731450pi", "RADESYS": "ICRS",
             **_celestial(crpix, crval, pixel_scale)}
    primary = _hst_primary(rootname, target.name, filter_name, expstart, exptime, program_id,
                           3, linenum)
    primary.header.update({"D001VER": "DrizzlePac 3.6.2", "NDRIZIM": 2 if linenum else 24})
    sci = _sky(rng, shape, 0.05) * np.float32(0.05)
    hdus = [primary, _image("SCI", sci, BUNIT="ELECTRONS/S", **cards),
            _image("WHT", np.full(shape, exptime, dtype=np.float32), **cards),
            _image("CTX", np.ones(shape, dtype=np.int32), **cards)]
    return _write(hdus, target)


def _jwst_primary(filename: str, datamodel: str, *, program: int, observation: int,
                  visit: int, exposure: int, detector: str, expstart: float,
                  exptime: float) -> fits.PrimaryHDU:
    date, time = _date_time(expstart)
    primary = fits.PrimaryHDU()
    primary.header.update({
        "DATE": "2023-09-01T10:11:12.000", "ORIGIN": "STSCI", "TIMESYS": "UTC",
        "FILENAME": filename, "FILETYPE": "calibrated", "DATAMODL": datamodel,
        "TELESCOP": "JWST", "CAL_VER": "1.12.5", "PROGRAM": f"{program:05d}",
        "OBSERVTN": f"{observation:03d}", "VISIT": f"{visit:03d}", "VISITGRP": "03",
        "SEQ_ID": "1", "ACT_ID": "01", "EXPOSURE": str(exposure), "TARGPROP": "RBH-1",
        "TARGNAME": "RBH-1", "TARG_RA": RBH1_RA, "TARG_DEC": RBH1_DEC,
        "INSTRUME": "NIRSPEC", "DETECTOR": detector.upper(), "FILTER": "F100LP",
        "GRATING": "G140M", "EXP_TYPE": "NRS_IFU", "DATE-OBS": date, "TIME-OBS": time,
        "EXPSTART": expstart, "EXPMID": expstart + exptime / 172800.0,
        "EXPEND": expstart + exptime / 86400.0, "EFFEXPTM": exptime, "DURATION": exptime * 1.02,
        "NRS_NORM": 16, "PATT_NUM": exposure, "NUMDTHPT": 4,
    })
    return primary


def _jwst_setup(path: PathLike, suffix: str, seed: int, exposure: Mapping[str, Any]
                ) -> tuple[pathlib.Path, np.random.Generator, dict[str, Any]]:
    """Target file, random generator and exposure keywords (defaults filled in)."""
    unknown = set(exposure) - set(_JWST_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown exposure keyword(s): {', '.join(sorted(unknown))}")
    kw = {**_JWST_DEFAULTS, **exposure}
    name = jwst_filename(suffix, **{k: kw[k] for k in list(_JWST_DEFAULTS)[:5]})
    return _target(path, name), np.random.default_rng(seed), kw


def write_nirspec_cal(path: PathLike, *, seed: int = 0, shape: tuple[int, int] = (64, 64),
                      **exposure: Any) -> pathlib.Path:
    """Write a NIRSpec IFU ``_cal`` file: 2-D detector SCI/ERR/DQ with ``CRVAL1/2 = 0/0``.

    Calibrated detector images precede cube building and have no celestial
    WCS. ``exposure`` takes ``program``, ``observation``, ``visit``,
    ``exposure``, ``detector``, ``expstart`` (MJD) and ``exptime`` (s).
    """
    target, rng, kw = _jwst_setup(path, "cal", seed, exposure)
    cards: dict[str, Any] = {"BUNIT": "MJy/sr", "CRPIX1": 1.0, "CRPIX2": 1.0, "CRVAL1": 0.0,
                             "CRVAL2": 0.0, "CDELT1": 1.0, "CDELT2": 1.0, "SRCTYPE": "EXTENDED"}
    sci = _sky(rng, shape, 4.0)
    hdus = [_jwst_primary(target.name, "IFUImageModel", **kw), _image("SCI", sci, **cards),
            _image("ERR", np.sqrt(np.abs(sci)), **cards),
            _image("DQ", np.zeros(shape, dtype=np.int32), **cards)]
    return _write(hdus, target)


def _spectrum(wavelengths: npt.NDArray[np.float64], amplitude: npt.NDArray[Any],
              velocity: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """Continuum plus redshifted emission lines; broadcasts over spatial axes."""
    lam = wavelengths.reshape((-1,) + (1,) * amplitude.ndim)
    flux = np.full(lam.shape[:1] + amplitude.shape, 0.8)
    for rest, ratio in _LINES:
        centre = rest * (1 + _REDSHIFT) * (1 + velocity / _C_KMS)
        sigma = centre * 120.0 / _C_KMS
        flux = flux + amplitude * ratio * np.exp(-0.5 * ((lam - centre) / sigma) ** 2)
    return flux


def write_nirspec_x1d(path: PathLike, *, seed: int = 0, n_channels: int = S3D_CHANNELS,
                      **exposure: Any) -> pathlib.Path:
    """Write a NIRSpec ``_x1d`` file: an ``EXTRACT1D`` table (WAVELENGTH, FLUX, ...).

    ``exposure`` as for :func:`write_nirspec_cal`. Returns the file.
    """
    target, rng, kw = _jwst_setup(path, "x1d", seed, exposure)
    lam = nirspec_wavelengths(n_channels)
    sb = _spectrum(lam, np.array(20.0), np.array(0.0)) + rng.normal(0.0, 0.3, n_channels)
    flux = sb * 1e6 * (0.1 / 206264.806) ** 2 * 144      # MJy/sr over 144 spaxels -> Jy
    columns = [fits.Column(name, "D", unit, array=values) for name, unit, values in (
        ("WAVELENGTH", "um", lam), ("FLUX", "Jy", flux), ("FLUX_ERROR", "Jy", flux * 0.02),
        ("FLUX_VAR_POISSON", "Jy^2", (flux * 0.015) ** 2),
        ("SURF_BRIGHT", "MJy/sr", sb), ("SB_ERROR", "MJy/sr", np.abs(sb) * 0.02),
        ("BACKGROUND", "MJy/sr", np.zeros(n_channels)), ("NPIXELS", None,
                                                         np.full(n_channels, 144.0)))]
    columns.insert(6, fits.Column("DQ", "J", array=np.zeros(n_channels, dtype=np.int32)))
    table = fits.BinTableHDU.from_columns(columns, name="EXTRACT1D")
    table.header.update({"SPORDER": 1, "SRCTYPE": "EXTENDED", "EXTR_X": 6})
    hdus = [_jwst_primary(target.name, "MultiSpecModel", **kw), table]
    return _write(hdus, target)


def write_nirspec_s3d(path: PathLike, *, seed: int = 0, ra: float = RBH1_RA,
                      dec: float = RBH1_DEC, shape: tuple[int, int] = (12, 12),
                      n_channels: int = S3D_CHANNELS,
                      wavelength_range: tuple[float, float] | None = None,
                      spectral_axis: str = "linear", **exposure: Any) -> pathlib.Path:
    """Write a NIRSpec IFU ``_s3d`` cube: SCI, ERR, DQ cubes and a ``WCS-TABLE``.

    The SCI cube holds continuum plus the [OIII], H-alpha, [NII] and [SII]
    lines at z = 0.964 (MJy/sr), brighter along a diagonal ridge, with a
    +-150 km/s velocity gradient across it and noise; the four corner
    spaxels are NaN with DQ do-not-use. The spatial WCS is a north-up TAN
    projection with 0.10" spaxels (PC + CDELT) centred on (``ra``, ``dec``).

    Parameters
    ----------
    path : path-like
        The file, or a directory to write the JWST file name into.
    seed : int, optional
        Seed of the noise; the same arguments write the same bytes.
    ra, dec : float, optional
        Centre of the cube (degrees); default RBH-1.
    shape : (int, int), optional
        Spatial size (NAXIS2, NAXIS1).
    n_channels : int, optional
        Wavelength channels (NAXIS3), default 1447.
    wavelength_range : (float, float), optional
        First and last wavelength (micron); default 0.970-1.890 (see
        :func:`nirspec_wavelengths`).
    spectral_axis : {'linear', 'wavetab'}, optional
        ``'linear'``: ``CTYPE3 = 'WAVE'`` with ``CRVAL3``, ``CDELT3`` and
        ``PC3_3 = 1``; ``'wavetab'``: ``CTYPE3 = 'WAVE-TAB'`` pointing at the
        ``WCS-TABLE`` extension (which both variants carry).
    **exposure
        ``program``, ``observation``, ``visit``, ``exposure``, ``detector``,
        ``expstart`` (MJD) and ``exptime`` (s), as for :func:`write_nirspec_cal`.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    if spectral_axis not in ("linear", "wavetab"):
        raise ValueError(f"spectral_axis must be 'linear' or 'wavetab', not {spectral_axis!r}")
    target, rng, kw = _jwst_setup(path, "s3d", seed, exposure)
    ny, nx = shape
    lam = nirspec_wavelengths(n_channels, wavelength_range)
    start, step = _start_step(n_channels, wavelength_range)
    yy, xx = np.mgrid[0:ny, 0:nx]
    along = (xx - (nx - 1) / 2) / max(nx - 1, 1)                      # -0.5 .. 0.5
    amplitude = 2.0 + 25.0 * np.exp(-((yy - (ny - 1) / 2 - along * ny) ** 2) / 6.0)
    cube = _spectrum(lam, amplitude, 300.0 * along)
    sci = (cube + rng.normal(0.0, 0.3, cube.shape)).astype(np.float32)
    dq = np.zeros(sci.shape, dtype=np.int32)
    for y, x in ((0, 0), (0, nx - 1), (ny - 1, 0), (ny - 1, nx - 1)):
        sci[:, y, x], dq[:, y, x] = np.nan, 1 | 512
    cards = {**_celestial(((nx + 1) / 2, (ny + 1) / 2), (ra, dec), _IFU_SCALE, style="pc"),
             "WCSAXES": 3, "CTYPE3": "WAVE", "CUNIT3": "um", "CRPIX3": 1.0,
             "CRVAL3": start, "CDELT3": step,
             "PC1_3": 0.0, "PC2_3": 0.0, "PC3_1": 0.0, "PC3_2": 0.0, "PC3_3": 1.0,
             "RADESYS": "ICRS", "SRCTYPE": "EXTENDED"}
    if spectral_axis == "wavetab":
        cards.update({"CTYPE3": "WAVE-TAB", "CRVAL3": 1.0, "CDELT3": 1.0,
                      "PS3_0": "WCS-TABLE", "PS3_1": "wavelength"})
    table = fits.BinTableHDU.from_columns([fits.Column(
        "wavelength", f"{n_channels}D", "um", dim=f"(1,{n_channels})",
        array=lam.reshape(1, n_channels, 1))], name="WCS-TABLE")
    hdus = [_jwst_primary(target.name, "IFUCubeModel", **kw),
            _image("SCI", sci, BUNIT="MJy/sr", **cards),
            _image("ERR", np.full(sci.shape, 0.3, dtype=np.float32), BUNIT="MJy/sr", **cards),
            _image("DQ", dq, **cards), table]
    return _write(hdus, target)


def _hst_rootname(index: int) -> tuple[str, str]:
    """Rootname and LINENUM of HST exposure ``index``: six exposures per visit."""
    visit, number = divmod(index, 6)
    visit += 1
    return (f"iexo{visit:02d}{_LETTERS[(number + 1) // 26]}{_LETTERS[(number + 1) % 26]}q",
            f"{visit:02d}.{number + 1:03d}")


def write_rbh1_set(directory: PathLike, *, counts: Mapping[str, int] | None = None,
                   seed: int = 0) -> dict[str, list[pathlib.Path]]:
    """Write a miniature RBH-1 data set into ``directory`` (created if needed).

    Parameters
    ----------
    directory : path-like
        Where the files go (flat, real file names).
    counts : mapping of str to int, optional
        Files per type (``flc``, ``drc``, ``cal``, ``x1d``, ``s3d``); missing
        types default to :data:`DEFAULT_COUNTS` (72, 70, 16, 18, 18).
    seed : int, optional
        Seed of pointings and pixel noise; the same seed writes the same bytes
        (checksums are stamped at a fixed time).

    Returns
    -------
    dict of str to list of pathlib.Path
        The files written, by type.

    Notes
    -----
    HST: six exposures per visit alternating F200LP/F350LP, dithered within
    +-12" of RBH-1 at a per-visit orientation; one ``_flc`` per exposure,
    one ``_drc`` per exposure except the first of each filter, and (when
    ``drc`` >= 4) two HAP skycell mosaics whose ``CRVAL`` sits 6000" east and
    west. JWST: exposures in observations of three, IFU pointings at -3", 0
    and +3" along the feature, each read by both NIRSpec detectors (``nrs1``
    and ``nrs2`` files sharing ``EXPSTART``, as real NIRSpec exposures do);
    ``_s3d``, ``_x1d`` and ``_cal`` files for the first ``counts[...]``
    detector-exposures (18 s3d = 9 exposures x 2 detectors).
    """
    out = pathlib.Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    n = {**DEFAULT_COUNTS, **(counts or {})}
    rng = np.random.default_rng(seed)
    written: dict[str, list[pathlib.Path]] = {kind: [] for kind in DEFAULT_COUNTS}
    n_sky = min(2, n["drc"] // 2)
    n_exposures = max(n["flc"], n["drc"])
    for i in range(n_exposures):
        rootname, linenum = _hst_rootname(i)
        visit = i // 6
        filt, exptime = _FILTERS[i % 2], 1200.0 + 20.0 * (i % 6)
        expstart = 60150.1 + 1.5 * visit + 0.02 * (i % 6)
        ra, dec = _offset(RBH1_RA, RBH1_DEC, *rng.uniform(-12.0, 12.0, 2))
        common: dict[str, Any] = {
            "seed": seed * 100_003 + i, "ra": ra, "dec": dec, "rootname": rootname,
            "filter_name": filt, "expstart": expstart, "exptime": exptime, "linenum": linenum}
        if i < n["flc"]:
            written["flc"].append(write_wfc3_flc(out, orientation=30.0 + 7.0 * visit, **common))
        if i >= n_sky and len(written["drc"]) < n["drc"] - n_sky:
            written["drc"].append(write_wfc3_drc(out, **common))
    for j in range(n_sky):
        filt, sign = _FILTERS[j], (1.0, -1.0)[j]
        written["drc"].append(write_wfc3_drc(
            out, seed=seed * 100_003 + 99_000 + j, rootname=f"hst_skycell-p0301x0{5 + j}y13_"
            f"wfc3_uvis_{filt.lower()}_all", filter_name=filt, expstart=60150.1 + 0.02 * j,
            exptime=1200.0 * n_exposures / 2, linenum=None, pixel_scale=(4.5, 5.5)[j],
            crval_offset_arcsec=(sign * 6000.0, 0.0)))
    writers: dict[str, Callable[..., pathlib.Path]] = {
        "cal": write_nirspec_cal, "x1d": write_nirspec_x1d, "s3d": write_nirspec_s3d}
    n_jwst = max(n["cal"], n["x1d"], n["s3d"])
    for e in range((n_jwst + 1) // 2):
        observation, exposure = divmod(e, 3)
        along = 3.0 * (observation % 3 - 1) + rng.uniform(-0.3, 0.3)
        ra, dec = _offset(RBH1_RA, RBH1_DEC, along * np.sin(np.radians(58.0)),
                          along * np.cos(np.radians(58.0)))
        # NIRSpec reads both detectors in one exposure: one start time, two files.
        for d, detector in enumerate(NIRSPEC_DETECTORS):
            kw = {"seed": seed * 100_003 + 50_000 + 2 * e + d, "observation": observation + 1,
                  "exposure": exposure + 1, "expstart": 60162.3 + 0.5 * observation
                  + 0.04 * exposure, "exptime": 2918.0, "detector": detector}
            for kind, writer in writers.items():
                if 2 * e + d < n[kind]:
                    extra = {"ra": ra, "dec": dec} if kind == "s3d" else {}
                    written[kind].append(writer(out, **kw, **extra))
    return written


# -- broken copies -----------------------------------------------------------------------------

def _rewrite(source: PathLike, dest: PathLike, edit: Callable[[fits.HDUList], fits.HDUList]
             ) -> pathlib.Path:
    target = pathlib.Path(dest)
    with fits.open(source, memmap=False) as hdul:
        copied = fits.HDUList([hdu.copy() for hdu in hdul])
    return _write(edit(copied), target)


def write_without_sci(source: PathLike, dest: PathLike) -> pathlib.Path:
    """Copy ``source`` to ``dest`` without its ``SCI`` extension(s)."""
    return _rewrite(source, dest, lambda hdul: fits.HDUList(
        [hdu for hdu in hdul if hdu.name != "SCI"]))


def write_with_zero_crval(source: PathLike, dest: PathLike) -> pathlib.Path:
    """Copy ``source`` to ``dest`` with ``CRVAL1 = CRVAL2 = 0`` in every SCI header."""
    def edit(hdul: fits.HDUList) -> fits.HDUList:
        for hdu in hdul:
            if hdu.name == "SCI":
                hdu.header["CRVAL1"], hdu.header["CRVAL2"] = 0.0, 0.0
        return hdul
    return _rewrite(source, dest, edit)


def write_with_nan_cd(source: PathLike, dest: PathLike, keyword: str | None = None
                      ) -> pathlib.Path:
    """Copy ``source`` to ``dest`` with ``NaN`` as the first SCI header's CD (or PC) element.

    FITS has no NaN and astropy will not write one, but broken writers do:
    the card is patched in the bytes as ``CD1_1   =                  NaN``
    (``keyword`` defaults to ``CD1_1``, or ``PC1_1`` for PC + CDELT headers),
    and that HDU's checksum cards are dropped so only the NaN is wrong.
    """
    target = pathlib.Path(dest)
    with fits.open(source, memmap=False) as hdul:
        copied = fits.HDUList([hdu.copy() for hdu in hdul])
    sci = copied["SCI"].header
    keyword = keyword or ("CD1_1" if "CD1_1" in sci else "PC1_1")
    sci[keyword] = 1.0e30                       # a placeholder of the right width
    for card in ("CHECKSUM", "DATASUM"):
        sci.remove(card, ignore_missing=True)
    copied.writeto(target, overwrite=True)
    data = target.read_bytes()
    old = f"{keyword:<8}= {'1E+30':>20}".encode()
    if old not in data:
        raise RuntimeError(f"could not find the {keyword} card to patch")
    target.write_bytes(data.replace(old, f"{keyword:<8}= {'NaN':>20}".encode(), 1))
    return target
