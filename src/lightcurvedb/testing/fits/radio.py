"""DSA-110 continuum images in the layout WSClean and CASA ``exportfits`` write.

A radio image is one primary HDU holding a four-axis cube ``(STOKES, FREQ,
DEC, RA)`` of one plane, in ``JY/BEAM``, with the restoring beam in degrees
(``BMAJ``, ``BMIN``, ``BPA``), an orthographic (``SIN``) projection centred on
the phase centre, the frequency axis giving the centre frequency (``CRVAL3``,
Hz) and the bandwidth (``CDELT3``, Hz), and the observation keywords
(``DATE-OBS``, ``TELESCOP``, ``OBJECT``)::

    from lightcurvedb.testing.fits.radio import write_radio_image

    path = write_radio_image(tmp_path / "2025-10-24T12:00:00.img-image.fits",
                             ra=188.73, dec=42.05, bmaj_deg=0.0042, bmin_deg=0.0031,
                             bpa_deg=-12.0, noise_jy=3e-4)

:func:`write_casa_image` writes the layout of CASA's ``exportfits``: axes
``(RA, DEC, spectral, STOKES)`` (``stokeslast=True``, the default) or with
the last two swapped, a ``FREQ`` axis in Hz or, with ``velocity=True``, a
radio-velocity ``VRAD`` axis in m/s with the rest frequency in ``RESTFRQ``,
and any number of channels and Stokes planes: a continuum image (one of
each), a spectral cube, a full-Stokes image::

    cube = write_casa_image(tmp_path / "cube.fits", ra=188.73, dec=42.05, bmaj_deg=0.0042,
                            bmin_deg=0.0031, bpa_deg=-12.0, noise_jy=3e-4,
                            velocity=True, n_channels=7)

The pixels are Gaussian noise of the given RMS plus point sources convolved
with the beam, so a robust noise estimate of the image recovers ``noise_jy``.
"""

from __future__ import annotations

import math
import os
import pathlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from astropy.io import fits

__all__ = ["SPEED_OF_LIGHT", "sky_to_pixel", "write_casa_image", "write_radio_image"]

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
#: Speed of light (m/s), for the velocity axes.
SPEED_OF_LIGHT = 299_792_458.0


def sky_to_pixel(ra: float, dec: float, *, ra0: float, dec0: float, crpix: tuple[float, float],
                 cell_deg: float) -> tuple[float, float]:
    """Return the 0-based ``(x, y)`` pixel of a sky position in a SIN-projected image.

    Parameters
    ----------
    ra, dec : float
        The position (deg).
    ra0, dec0 : float
        The projection centre (``CRVAL1``, ``CRVAL2``, deg).
    crpix : tuple of float
        ``(CRPIX1, CRPIX2)`` (1-based, as in the header).
    cell_deg : float
        Pixel size (deg); RA increases to the left (``CDELT1 = -cell_deg``).
    """
    a, d, a0, d0 = map(math.radians, (ra, dec, ra0, dec0))
    l_dir = math.cos(d) * math.sin(a - a0)
    m_dir = math.sin(d) * math.cos(d0) - math.cos(d) * math.sin(d0) * math.cos(a - a0)
    x = crpix[0] - 1 - math.degrees(l_dir) / cell_deg
    y = crpix[1] - 1 + math.degrees(m_dir) / cell_deg
    return x, y


def _beam_image(shape: tuple[int, int], x0: float, y0: float, peak: float, bmaj_pix: float,
                bmin_pix: float, bpa_deg: float) -> npt.NDArray[np.float64]:
    y, x = np.indices(shape, dtype=np.float64)
    dx, dy = x - x0, y - y0
    theta = math.radians(bpa_deg)              # east of north; east is -x, north is +y
    along_major = -dx * math.sin(theta) + dy * math.cos(theta)
    along_minor = dx * math.cos(theta) + dy * math.sin(theta)
    s_maj, s_min = bmaj_pix / _FWHM_PER_SIGMA, bmin_pix / _FWHM_PER_SIGMA
    result: npt.NDArray[np.float64] = peak * np.exp(
        -0.5 * ((along_major / s_maj) ** 2 + (along_minor / s_min) ** 2))
    return result


def _sky_plane(rng: np.random.Generator, *, ra: float, dec: float, crpix: tuple[float, float],
               cell_deg: float, shape: tuple[int, int], beam: tuple[float, float, float],
               noise_jy: float, sources: Sequence[tuple[float, float, float]] | None,
               n_sources: int) -> npt.NDArray[np.float64]:
    """Gaussian noise plus point sources convolved with the beam (random ones if not given)."""
    ny, nx = shape
    if sources is None:
        half = 0.25 * min(nx, ny) * cell_deg
        sources = [(ra + rng.uniform(-half, half) / math.cos(math.radians(dec)),
                    dec + rng.uniform(-half, half), rng.uniform(20.0, 100.0) * noise_jy)
                   for _ in range(n_sources)]
    plane = rng.normal(0.0, noise_jy, size=shape)
    for src_ra, src_dec, peak in sources:
        x, y = sky_to_pixel(src_ra, src_dec, ra0=ra, dec0=dec, crpix=crpix, cell_deg=cell_deg)
        plane += _beam_image(shape, x, y, peak, beam[0] / cell_deg, beam[1] / cell_deg, beam[2])
    return plane


def write_radio_image(path: str | os.PathLike[str], *, ra: float, dec: float,
                      freq_ghz: float = 1.405, bandwidth_mhz: float = 187.5,
                      bmaj_deg: float, bmin_deg: float, bpa_deg: float, noise_jy: float,
                      nx: int = 256, ny: int = 256, cell_arcsec: float = 3.0,
                      sources: Sequence[tuple[float, float, float]] | None = None,
                      n_sources: int = 3, date_obs: str = "2025-10-24T12:00:00.0",
                      object_name: str = "J1234+42", seed: int = 0) -> pathlib.Path:
    """Write a synthetic DSA-110 continuum image (WSClean-style FITS).

    Parameters
    ----------
    path : path-like
        The file to write (overwritten).
    ra, dec : float
        Phase centre (deg): ``CRVAL1``/``CRVAL2`` at pixel ``(nx/2+1, ny/2+1)``.
    freq_ghz, bandwidth_mhz : float, optional
        Centre frequency (``CRVAL3`` in Hz) and bandwidth (``CDELT3`` in Hz).
        The defaults are the DSA-110 band: 1.405 GHz, 187.5 MHz.
    bmaj_deg, bmin_deg, bpa_deg : float
        Restoring beam FWHM axes and position angle (deg), as CASA and WSClean
        write ``BMAJ``, ``BMIN``, ``BPA``.
    noise_jy : float
        RMS of the Gaussian noise (Jy/beam).
    nx, ny : int, optional
        Image size in pixels.
    cell_arcsec : float, optional
        Pixel size (``CDELT2``; ``CDELT1`` is its negative), arcsec.
    sources : sequence of tuple, optional
        Point sources to add as ``(ra, dec, peak_jy)`` (deg, deg, Jy/beam),
        each convolved with the beam (so its peak in Jy/beam is ``peak_jy``).
        Default: ``n_sources`` sources at random positions in the inner half
        of the image with peaks of 20-100 times the noise.
    n_sources : int, optional
        How many random sources when ``sources`` is not given.
    date_obs : str, optional
        ``DATE-OBS`` (ISO, UTC).
    object_name : str, optional
        ``OBJECT``: the field name.
    seed : int, optional
        Seed of the noise and of the random sources.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    cell_deg = cell_arcsec / 3600.0
    crpix = (nx // 2 + 1.0, ny // 2 + 1.0)
    plane = _sky_plane(np.random.default_rng(seed), ra=ra, dec=dec, crpix=crpix,
                       cell_deg=cell_deg, shape=(ny, nx), beam=(bmaj_deg, bmin_deg, bpa_deg),
                       noise_jy=noise_jy, sources=sources, n_sources=n_sources)
    header = fits.Header()
    cards: list[tuple[str, object, str]] = [
        ("BSCALE", 1.0, "PHYSICAL = PIXEL*BSCALE + BZERO"),
        ("BZERO", 0.0, ""),
        ("BUNIT", "JY/BEAM", "Brightness (pixel) unit"),
        ("BMAJ", bmaj_deg, "Restoring beam major axis (deg)"),
        ("BMIN", bmin_deg, "Restoring beam minor axis (deg)"),
        ("BPA", bpa_deg, "Restoring beam position angle (deg)"),
        ("EQUINOX", 2000.0, "J2000"),
        ("BTYPE", "Intensity", ""),
        ("TELESCOP", "DSA-110", ""),
        ("OBSERVER", "dsa110-contimg", ""),
        ("OBJECT", object_name, ""),
        ("ORIGIN", "WSClean", "W-stacking imager written by A.R. Offringa"),
        ("CTYPE1", "RA---SIN", "Right ascension angle cosine"),
        ("CRPIX1", crpix[0], ""),
        ("CRVAL1", ra, ""),
        ("CDELT1", -cell_deg, ""),
        ("CUNIT1", "deg", ""),
        ("CTYPE2", "DEC--SIN", "Declination angle cosine"),
        ("CRPIX2", crpix[1], ""),
        ("CRVAL2", dec, ""),
        ("CDELT2", cell_deg, ""),
        ("CUNIT2", "deg", ""),
        ("CTYPE3", "FREQ", "Central frequency"),
        ("CRPIX3", 1.0, ""),
        ("CRVAL3", freq_ghz * 1e9, ""),
        ("CDELT3", bandwidth_mhz * 1e6, ""),
        ("CUNIT3", "Hz", ""),
        ("CTYPE4", "STOKES", ""),
        ("CRPIX4", 1.0, ""),
        ("CRVAL4", 1.0, ""),
        ("CDELT4", 1.0, ""),
        ("CUNIT4", "", ""),
        ("SPECSYS", "TOPOCENT", ""),
        ("DATE-OBS", date_obs, ""),
        ("OBSRA", ra, "Phase centre RA (deg)"),
        ("OBSDEC", dec, "Phase centre Dec (deg)"),
        ("WSCVERSN", "3.4", "WSClean version"),
        ("WSCIMGWG", 1.2e4, "Weight of the image"),
        ("WSCNITER", 10000.0, "Maximum number of iterations"),
        ("WSCNWLAY", 1.0, "Number of w-layers"),
    ]
    for key, value, comment in cards:
        header[key] = (value, comment)
    data = plane.astype(np.float32)[np.newaxis, np.newaxis, :, :]
    target = pathlib.Path(path)
    fits.PrimaryHDU(data=data, header=header).writeto(target, overwrite=True)
    return target


def _spectral_cards(*, velocity: bool, freq_hz: float, width_hz: float, rest_hz: float,
                    axis: int) -> list[tuple[str, object, str]]:
    """Return the spectral axis cards as ``exportfits`` writes them: FREQ (Hz) or VRAD (m/s)."""
    if not velocity:
        return [(f"CTYPE{axis}", "FREQ", ""), (f"CRVAL{axis}", freq_hz, ""),
                (f"CDELT{axis}", width_hz, ""), (f"CRPIX{axis}", 1.0, ""),
                (f"CUNIT{axis}", "Hz", "")]
    # Radio convention: v = c (1 - nu / nu0), so a channel of width dnu spans c dnu / nu0.
    return [(f"CTYPE{axis}", "VRAD", ""),
            (f"CRVAL{axis}", SPEED_OF_LIGHT * (1.0 - freq_hz / rest_hz), ""),
            (f"CDELT{axis}", -SPEED_OF_LIGHT * width_hz / rest_hz, ""),
            (f"CRPIX{axis}", 1.0, ""), (f"CUNIT{axis}", "m/s", "")]


def write_casa_image(path: str | os.PathLike[str], *, ra: float, dec: float,
                     bmaj_deg: float, bmin_deg: float, bpa_deg: float, noise_jy: float,
                     freq_ghz: float = 1.405, bandwidth_mhz: float = 187.5,
                     velocity: bool = False, rest_freq_ghz: float | None = None,
                     n_channels: int = 1, n_stokes: int = 1, stokes_last: bool = True,
                     nx: int = 128, ny: int = 128, cell_arcsec: float = 3.0,
                     sources: Sequence[tuple[float, float, float]] | None = None,
                     n_sources: int = 3, date_obs: str = "2025-10-24T12:00:00.000000",
                     object_name: str = "J1234+42", checksum: bool = False,
                     seed: int = 0) -> pathlib.Path:
    """Write a synthetic image in the layout of CASA ``exportfits``.

    Parameters
    ----------
    path : path-like
        The file to write (overwritten).
    ra, dec : float
        Phase centre (deg), at pixel ``(nx/2+1, ny/2+1)``.
    bmaj_deg, bmin_deg, bpa_deg : float
        Restoring beam (deg).
    noise_jy : float
        RMS of each plane's noise (Jy/beam).
    freq_ghz, bandwidth_mhz : float, optional
        Frequency of the first channel and the channel width.
    velocity : bool, optional
        Write the spectral axis as radio velocity (``VRAD``, m/s, as
        ``exportfits(velocity=True)``) instead of ``FREQ`` (Hz).
    rest_freq_ghz : float, optional
        ``RESTFRQ``; default ``freq_ghz`` (CASA's default for a continuum
        image: the first channel is at velocity 0).
    n_channels, n_stokes : int, optional
        Lengths of the spectral and Stokes axes (Stokes I, Q, U, V in order).
    stokes_last : bool, optional
        Axes ``(RA, DEC, spectral, STOKES)`` (``exportfits``'s default) or
        ``(RA, DEC, STOKES, spectral)``.
    nx, ny, cell_arcsec, sources, n_sources : optional
        As for :func:`write_radio_image`; every plane has the same sources.
    date_obs, object_name : str, optional
        ``DATE-OBS``, ``OBJECT``.
    checksum : bool, optional
        Write ``CHECKSUM`` and ``DATASUM``.
    seed : int, optional
        Seed of the noise (one draw per plane) and of the random sources.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    rng = np.random.default_rng(seed)
    cell_deg = cell_arcsec / 3600.0
    crpix = (nx // 2 + 1.0, ny // 2 + 1.0)
    if sources is None:
        half = 0.25 * min(nx, ny) * cell_deg
        sources = [(ra + rng.uniform(-half, half) / math.cos(math.radians(dec)),
                    dec + rng.uniform(-half, half), rng.uniform(20.0, 100.0) * noise_jy)
                   for _ in range(n_sources)]
    planes = np.stack([_sky_plane(rng, ra=ra, dec=dec, crpix=crpix, cell_deg=cell_deg,
                                  shape=(ny, nx), beam=(bmaj_deg, bmin_deg, bpa_deg),
                                  noise_jy=noise_jy, sources=sources, n_sources=0)
                       for _ in range(n_channels * n_stokes)])
    # numpy axis order is the reverse of FITS's: (axis 4, axis 3, DEC, RA).
    shape = (n_stokes, n_channels) if stokes_last else (n_channels, n_stokes)
    data = planes.reshape(*shape, ny, nx).astype(np.float32)
    freq_hz, width_hz = freq_ghz * 1e9, bandwidth_mhz * 1e6
    rest_hz = (rest_freq_ghz or freq_ghz) * 1e9
    spectral_axis, stokes_axis = (3, 4) if stokes_last else (4, 3)
    cards: list[tuple[str, object, str]] = [
        ("BSCALE", 1.0, "PHYSICAL = PIXEL*BSCALE + BZERO"), ("BZERO", 0.0, ""),
        ("BMAJ", bmaj_deg, ""), ("BMIN", bmin_deg, ""), ("BPA", bpa_deg, ""),
        ("BTYPE", "Intensity", ""), ("OBJECT", object_name, ""),
        ("BUNIT", "Jy/beam", "Brightness (pixel) unit"),
        ("RADESYS", "FK5", ""), ("LONPOLE", 180.0, ""), ("LATPOLE", dec, ""),
        *[(f"PC{i}_{j}", 1.0 if i == j else 0.0, "") for i in range(1, 5) for j in range(1, 5)],
        ("CTYPE1", "RA---SIN", ""), ("CRVAL1", ra, ""), ("CDELT1", -cell_deg, ""),
        ("CRPIX1", crpix[0], ""), ("CUNIT1", "deg", ""),
        ("CTYPE2", "DEC--SIN", ""), ("CRVAL2", dec, ""), ("CDELT2", cell_deg, ""),
        ("CRPIX2", crpix[1], ""), ("CUNIT2", "deg", ""),
        *_spectral_cards(velocity=velocity, freq_hz=freq_hz, width_hz=width_hz,
                         rest_hz=rest_hz, axis=spectral_axis),
        (f"CTYPE{stokes_axis}", "STOKES", ""), (f"CRVAL{stokes_axis}", 1.0, ""),
        (f"CDELT{stokes_axis}", 1.0, ""), (f"CRPIX{stokes_axis}", 1.0, ""),
        (f"CUNIT{stokes_axis}", "", ""),
        ("PV2_1", 0.0, ""), ("PV2_2", 0.0, ""),
        ("RESTFRQ", rest_hz, "Rest Frequency (Hz)"), ("SPECSYS", "LSRK", "Spectral reference"),
        ("ALTRVAL", (SPEED_OF_LIGHT * (1.0 - freq_hz / rest_hz)) if not velocity else freq_hz,
         "Alternate frequency reference value"),
        ("ALTRPIX", 1.0, "Alternate frequency reference pixel"),
        ("VELREF", 257, "1 LSR, 2 HEL, 3 OBS, +256 Radio"),
        ("TELESCOP", "DSA_110", ""), ("OBSERVER", "dsa110-contimg", ""),
        ("DATE-OBS", date_obs, ""), ("TIMESYS", "UTC", ""),
        ("OBSRA", ra, ""), ("OBSDEC", dec, ""),
        ("DATE", "2025-10-24T13:05:12.000000", "Date FITS file was written"),
        ("ORIGIN", "CASA 6.6.4-34 exportfits", ""),
    ]
    header = fits.Header()
    for key, value, comment in cards:
        header[key] = (value, comment)
    target = pathlib.Path(path)
    fits.PrimaryHDU(data=data, header=header).writeto(target, overwrite=True, checksum=checksum)
    return target
