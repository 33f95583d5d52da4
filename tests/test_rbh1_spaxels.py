"""Zone-2 spaxel extraction (``lightcurvedb.loaders.rbh1.spaxels``) on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import pathlib

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lightcurvedb.core.geometry import SkyPolygon
from lightcurvedb.loaders.rbh1 import load_rbh1_directory
from lightcurvedb.loaders.rbh1.spaxels import (
    KPC_PER_ARCSEC,
    classify_quality,
    extract_spaxels,
    read_cube_spaxels,
    spaxel_count,
)
from lightcurvedb.loaders.report import LoaderError
from lightcurvedb.rbh1 import (
    DataLevel,
    GeometricRegion,
    IFUSpaxel,
    InstrumentType,
    PipelineRun,
    QualityFlag,
    RBH1Observation,
    RegionOfInterest,
    WCSSolution,
)
from lightcurvedb.testing import factories
from lightcurvedb.testing.fits.rbh1 import write_rbh1_set

HOST = (40.45, -8.35)
NX, NY, NCHAN = 7, 5, 40   # odd: CRPIX falls on the centre of spaxel (3, 2)
#: S/N per spaxel row (flat spectra: peak = median): GOLD, SILVER, BRONZE, REJECTED x 2.
ROW_SNR = (60.0, 30.0, 10.0, 2.0, 2.0)


def cube_header(ra: float, dec: float, nx: int = NX, ny: int = NY) -> fits.Header:
    wcs = WCS(naxis=3)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN", "WAVE"]
    wcs.wcs.cunit = ["deg", "deg", "um"]
    wcs.wcs.crval = [ra, dec, 0.97]
    wcs.wcs.crpix = [(nx + 1) / 2, (ny + 1) / 2, 1.0]
    wcs.wcs.cdelt = [-0.1 / 3600, 0.1 / 3600, 0.000636]
    return wcs.to_header()


def write_cube(path: pathlib.Path, *, ra: float = HOST[0], dec: float = HOST[1],
               drop: str | None = None, err_shape: tuple[int, ...] | None = None
               ) -> pathlib.Path:
    """A small s3d-like cube with exactly known S/N, NaNs and DQ flags."""
    rng = np.random.default_rng(3)
    snr = np.repeat(np.array(ROW_SNR)[:, None], NX, axis=1)
    err = np.full((NCHAN, NY, NX), 2.0, dtype=np.float32)
    sci = (snr * 2.0)[None, :, :] * np.ones((NCHAN, 1, 1), dtype=np.float32)
    sci[:, 0, 0] += rng.normal(0, 0.05, NCHAN)      # peak S/N differs from the median
    dq = np.zeros((NCHAN, NY, NX), dtype=np.uint32)
    sci[:5, 0, 1] = np.nan                           # 5 NaN channels
    dq[5:8, 0, 1] = 1                                # 3 DO_NOT_USE channels
    err[8:10, 0, 1] = 0.0                            # 2 zero-error channels
    sci[:, 4, 5] = np.nan                            # an empty spaxel
    sci[:25, 1, 2] = np.nan                          # < 50 % valid: REJECTED despite S/N 6
    hdus = [fits.PrimaryHDU(), fits.ImageHDU(sci.astype(np.float32), cube_header(ra, dec),
                                             name="SCI")]
    if drop != "ERR":
        hdus.append(fits.ImageHDU(err if err_shape is None else np.ones(err_shape, "f4"),
                                  name="ERR"))
    if drop != "DQ":
        hdus.append(fits.ImageHDU(dq, name="DQ"))
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


def register_cube(session: Session, path: pathlib.Path) -> WCSSolution:
    """Zone 0-1 rows for a cube, as the RBH-1 loader writes them."""
    header = fits.getheader(path, "SCI")
    wcs = WCS(header).celestial
    nx, ny = header["NAXIS1"], header["NAXIS2"]
    corners = wcs.pixel_to_world_values([-0.5, nx - 0.5, nx - 0.5, -0.5],
                                        [-0.5, -0.5, ny - 0.5, ny - 0.5])
    footprint = SkyPolygon(tuple(zip(*(c.tolist() for c in corners), strict=True)))
    frame = factories.FITSFrameFactory()
    observation = RBH1Observation(
        frame_id=frame.id, file_name=path.name, file_path=path,
        instrument=InstrumentType.JWST_NIRSPEC, data_level=DataLevel.RESAMPLED,
        file_type="s3d", n_extensions=4, file_size_bytes=path.stat().st_size, sha256="0" * 64)
    session.add(observation)
    session.flush()
    ra_min, dec_min, ra_max, dec_max = footprint.bounds
    solution = WCSSolution(
        obs_id=observation.obs_id, footprint=footprint, footprint_method="celestial_subwcs",
        ctype1="RA---TAN", ctype2="DEC--TAN", crval1=header["CRVAL1"], crval2=header["CRVAL2"],
        crpix1=header["CRPIX1"], crpix2=header["CRPIX2"], cd1_1=-0.1 / 3600, cd1_2=0.0,
        cd2_1=0.0, cd2_2=0.1 / 3600, naxis1=nx, naxis2=ny, pixel_scale_arcsec=0.1,
        ra_span_arcsec=nx * 0.1, dec_span_arcsec=ny * 0.1, ra_min=ra_min, ra_max=ra_max,
        dec_min=dec_min, dec_max=dec_max)
    session.add(solution)
    session.flush()
    return solution


def box(ra: float, dec: float, half_arcsec: float) -> SkyPolygon:
    dra, ddec = half_arcsec / 3600 / math.cos(math.radians(dec)), half_arcsec / 3600
    return SkyPolygon(((ra - dra, dec - ddec), (ra + dra, dec - ddec), (ra + dra, dec + ddec),
                       (ra - dra, dec + ddec)))


def spaxel(session: Session, wcs_id: int, x: int, y: int) -> IFUSpaxel:
    return session.scalars(select(IFUSpaxel).filter_by(wcs_id=wcs_id, x=x, y=y)).one()


def test_read_cube_spaxels_statistics(tmp_path: pathlib.Path) -> None:
    cube = read_cube_spaxels(write_cube(tmp_path / "a_s3d.fits"))
    assert cube.shape == (NY, NX) and cube.n_channels == NCHAN
    assert cube.n_valid_channels[0, 1] == NCHAN - 10
    assert cube.n_valid_channels[4, 5] == 0 and np.isnan(cube.snr_median[4, 5])
    np.testing.assert_allclose(cube.snr_median[:, 3], ROW_SNR, rtol=1e-6)
    np.testing.assert_allclose(cube.flux_median[:, 3], np.array(ROW_SNR) * 2, rtol=1e-6)
    assert cube.snr_max[0, 0] > cube.snr_median[0, 0]
    sky = WCS(fits.getheader(tmp_path / "a_s3d.fits", "SCI")).celestial \
        .pixel_to_world(NX - 1, NY - 1)
    assert cube.ra[NY - 1, NX - 1] == pytest.approx(sky.ra.deg, abs=1e-12)
    assert cube.dec[NY - 1, NX - 1] == pytest.approx(sky.dec.deg, abs=1e-12)


def test_classify_quality_thresholds() -> None:
    flags = classify_quality([50.0, 49.99, 20.0, 5.0, 4.99, np.nan, 90.0], [10] * 6 + [4], 10)
    assert all(isinstance(flag, QualityFlag) for flag in flags)
    assert flags.tolist() == [QualityFlag.GOLD, QualityFlag.SILVER, QualityFlag.SILVER,
                              QualityFlag.BRONZE, QualityFlag.REJECTED, QualityFlag.REJECTED,
                              QualityFlag.REJECTED]


def test_extract_spaxels_writes_every_spaxel(session: Session, tmp_path: pathlib.Path) -> None:
    solution = register_cube(session, write_cube(tmp_path / "a_s3d.fits"))
    session.add_all([
        RegionOfInterest(name="host", region=GeometricRegion.HOST, footprint=box(*HOST, 0.05)),
        RegionOfInterest(name="field", region=GeometricRegion.BACKGROUND,
                         footprint=box(*HOST, 60.0))])
    session.flush()
    report = extract_spaxels(session, host=HOST)
    assert report.ok and len(report.loaded) == 1 and report.spaxels_written == NX * NY
    assert spaxel_count(session, solution.wcs_id) == NX * NY
    # Row S/N 60/30/10/2/2; (2, 1) has < 50 % valid channels, (5, 4) none at all.
    assert report.quality_counts == {QualityFlag.GOLD: NX, QualityFlag.SILVER: NX - 1,
                                     QualityFlag.BRONZE: NX, QualityFlag.REJECTED: 2 * NX + 1}
    corner = spaxel(session, solution.wcs_id, 0, 0)
    sky = WCS(fits.getheader(tmp_path / "a_s3d.fits", "SCI")).celestial.pixel_to_world(0, 0)
    assert (corner.ra, corner.dec) == pytest.approx((sky.ra.deg, sky.dec.deg), abs=1e-10)
    assert corner.quality is QualityFlag.GOLD and corner.n_valid_channels == NCHAN
    assert corner.snr_median == pytest.approx(60.0, rel=1e-3)
    flagged = spaxel(session, solution.wcs_id, 1, 0)
    assert flagged.n_valid_channels == NCHAN - 10 and flagged.snr_median == pytest.approx(60.0)
    empty = spaxel(session, solution.wcs_id, 5, 4)
    assert (empty.quality, empty.snr_median, empty.flux_median) == (QualityFlag.REJECTED,
                                                                    None, None)
    centre = spaxel(session, solution.wcs_id, 3, 2)   # CRPIX: exactly on the host
    assert centre.region is GeometricRegion.HOST
    assert centre.distance_from_host_kpc == pytest.approx(0.0, abs=1e-6)
    assert corner.region is GeometricRegion.BACKGROUND
    expected = math.hypot(3 * 0.1, 2 * 0.1) * KPC_PER_ARCSEC
    assert corner.distance_from_host_kpc == pytest.approx(expected, rel=1e-3)
    run = session.get(PipelineRun, report.run_id)
    assert run is not None and (run.stage_name, run.status) == ("ifu_spaxels", "success")
    assert run.rows_processed == NX * NY and run.completed_at is not None


def test_extract_spaxels_is_idempotent(session: Session, tmp_path: pathlib.Path) -> None:
    solution = register_cube(session, write_cube(tmp_path / "a_s3d.fits"))
    extract_spaxels(session)
    first_ids = set(session.scalars(select(IFUSpaxel.spaxel_id)))
    again = extract_spaxels(session)
    assert (len(again.loaded), len(again.skipped), again.spaxels_written) == (0, 1, 0)
    assert set(session.scalars(select(IFUSpaxel.spaxel_id))) == first_ids
    replaced = extract_spaxels(session, replace=True, snr_gold=100.0)
    assert len(replaced.loaded) == 1 and replaced.spaxels_written == NX * NY
    assert spaxel_count(session, solution.wcs_id) == NX * NY
    assert replaced.quality_counts[QualityFlag.SILVER] == 2 * NX - 1   # GOLD rows re-flagged
    assert session.scalar(select(func.count()).select_from(IFUSpaxel)
                          .where(IFUSpaxel.quality == QualityFlag.GOLD)) == 0


@pytest.mark.parametrize(("kind", "reason"), [
    ("no_err", "no ERR extension"), ("no_dq", "no DQ extension"),
    ("shape", "must be 3-D images of one shape"), ("garbage", "cannot read the cube"),
    ("missing", "cannot read the cube")])
def test_bad_cube_fails_cleanly(session: Session, tmp_path: pathlib.Path, kind: str,
                                reason: str) -> None:
    good = register_cube(session, write_cube(tmp_path / "good_s3d.fits"))
    bad_path = write_cube(tmp_path / "bad_s3d.fits")
    bad = register_cube(session, bad_path)
    if kind == "no_err":
        write_cube(bad_path, drop="ERR")
    elif kind == "no_dq":
        write_cube(bad_path, drop="DQ")
    elif kind == "shape":
        write_cube(bad_path, err_shape=(NCHAN, NY, NX + 1))
    elif kind == "garbage":
        bad_path.write_bytes(b"not a FITS file at all" * 100)
    else:
        bad_path.unlink()
    report = extract_spaxels(session)
    assert report.loaded == [tmp_path / "good_s3d.fits"]
    assert report.failed == [bad_path] and reason in report.failures[0][1]
    assert spaxel_count(session, good.wcs_id) == NX * NY
    assert spaxel_count(session, bad.wcs_id) == 0
    run = session.get(PipelineRun, report.run_id)
    assert run is not None and run.rows_failed == 1 and str(bad_path) in (run.error_message or "")


def test_cube_disagreeing_with_its_wcs_solution_fails(session: Session,
                                                      tmp_path: pathlib.Path) -> None:
    solution = register_cube(session, write_cube(tmp_path / "a_s3d.fits"))
    solution.naxis1 = NX + 2
    session.flush()
    report = extract_spaxels(session)
    assert not report.ok and "WCS solution" in report.failures[0][1]
    assert spaxel_count(session, solution.wcs_id) == 0


def test_extract_spaxels_from_generated_cubes(session: Session, tmp_path: pathlib.Path) -> None:
    """Loaded by the RBH-1 loader: 13 cubes of 12 x 12 spaxels at -3", 0 and +3" along the wake."""
    directory = tmp_path / "set"
    write_rbh1_set(directory, counts={"flc": 1, "drc": 1, "cal": 0, "x1d": 0, "s3d": 13})
    assert load_rbh1_directory(session, directory, progress=False).ok
    session.add(RegionOfInterest(name="host", region=GeometricRegion.HOST,
                                 footprint=box(*HOST, 0.25)))
    session.flush()
    report = extract_spaxels(session)
    assert report.ok and len(report.loaded) == 13 and report.spaxels_written == 13 * 144
    cubes = session.execute(select(WCSSolution.wcs_id, RBH1Observation.file_path)
                            .join(WCSSolution.observation)
                            .where(RBH1Observation.file_type == "s3d")).all()
    assert len(cubes) == 13
    assert [spaxel_count(session, wcs_id) for wcs_id, _ in cubes] == [144] * 13
    wcs_id, path = cubes[0]
    wcs = WCS(fits.getheader(path, "SCI")).celestial
    for x, y in ((0, 0), (11, 0), (0, 11), (11, 11), (5, 7)):
        sky = wcs.pixel_to_world(x, y)
        stored = spaxel(session, wcs_id, x, y)
        assert (stored.ra, stored.dec) == pytest.approx((sky.ra.deg, sky.dec.deg), abs=1e-10)
        host = SkyCoord(*HOST, unit="deg")
        assert stored.distance_from_host_kpc == pytest.approx(
            sky.separation(host).arcsec * 62 / 7.7, rel=1e-6)
    # The generator's line flux peaks along the diagonal ridge (S/N ~ 90) and falls to the
    # continuum plus faint lines (S/N ~ 9) off it; the four corners are NaN / DO_NOT_USE.
    rows = session.execute(select(IFUSpaxel.x, IFUSpaxel.y, IFUSpaxel.quality,
                                  IFUSpaxel.snr_max, IFUSpaxel.n_valid_channels)).all()
    corners = {(0, 0), (0, 11), (11, 0), (11, 11)}
    for x, y, quality, snr_max, n_valid in rows:
        if (x, y) in corners:
            assert (quality, snr_max, n_valid) == (QualityFlag.REJECTED, None, 0)
        elif x == y:
            assert quality is QualityFlag.GOLD and snr_max > 50
        elif abs(x - y) >= 5:
            assert quality is QualityFlag.BRONZE and 5 <= snr_max < 20
        assert quality == classify_quality([snr_max or np.nan], [n_valid], 1447)[0]
    assert report.quality_counts[QualityFlag.REJECTED] == 4 * 13
    assert report.quality_counts[QualityFlag.SILVER] > 0
    host_spaxels = session.execute(select(IFUSpaxel.distance_from_host_kpc)
                                   .where(IFUSpaxel.region == GeometricRegion.HOST)).scalars()
    distances = list(host_spaxels)
    assert distances and max(distances) < 0.25 * math.sqrt(2) * KPC_PER_ARCSEC
    assert session.scalar(select(func.count()).select_from(IFUSpaxel)
                          .where(IFUSpaxel.region.is_(None))) > 13 * 144 / 2
    again = extract_spaxels(session)
    assert (len(again.skipped), again.spaxels_written) == (13, 0)


def test_wcs_ids_and_strict(session: Session, tmp_path: pathlib.Path) -> None:
    first = register_cube(session, write_cube(tmp_path / "a_s3d.fits"))
    second = register_cube(session, write_cube(tmp_path / "b_s3d.fits", drop="DQ"))
    only_first = extract_spaxels(session, wcs_ids=[first.wcs_id])
    assert only_first.ok and only_first.loaded == [tmp_path / "a_s3d.fits"]
    with pytest.raises(LoaderError, match="no DQ extension"):
        extract_spaxels(session, strict=True)
    assert spaxel_count(session, second.wcs_id) == 0
    failed = session.scalars(select(PipelineRun).where(PipelineRun.stage_name == "ifu_spaxels")
                             .order_by(PipelineRun.run_id.desc())).first()
    assert failed is not None and failed.status == "failed" and "b_s3d.fits" in (
        failed.error_message or "")
