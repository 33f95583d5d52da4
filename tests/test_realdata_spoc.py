"""Real SPOC light curves through ``load_lightcurves``, on SQLite and PostgreSQL.

Every stored value is compared with astropy's reading of the same file,
bit for bit (NaN payloads and signed zeros included): TIME + BJDREFI +
BJDREFF, the SAP and PDCSAP fluxes and errors, QUALITY, CADENCENO, and the
TIC id, sector, camera and CCD of the headers. Real products of other kinds
(Kepler and K2 light curves, target pixel files, a TESScut cutout) are
refused and leave no rows.
"""

from __future__ import annotations

import gzip
import pathlib

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from array_support import same_bits
from lightcurvedb.loaders.tess import load_lightcurves
from lightcurvedb.missions.tess import TESSObservation, TESSQualityFlagArray
from lightcurvedb.models import (
    DataSet,
    DataSetHierarchy,
    Observation,
    QualityFlagArray,
    Target,
    TargetSpecificTime,
)
from lightcurvedb.testing.fits import write_spoc_lightcurve
from realdata.manifest import SPOC_LIGHT_CURVES

TABLES = (Target, Observation, TESSObservation, TargetSpecificTime, DataSet, DataSetHierarchy,
          QualityFlagArray)
#: Real products that are not TESS SPOC light curves.
NOT_SPOC = ("kepler_llc", "kepler_llc_q5", "k2_llc", "k2_tpf", "tesscut_ffi_cutout",
            "tess_tpf_trimmed")


def counts(session: Session) -> dict[str, int]:
    return {model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in TABLES}


def astropy_read(path: pathlib.Path) -> dict:
    """What the file says, read with astropy alone."""
    with fits.open(path) as hdul:
        primary, table = hdul[0].header, hdul["LIGHTCURVE"]
        data = table.data
        columns = {name: np.array(data[name]) for name in
                   ("TIME", "CADENCENO", "SAP_FLUX", "SAP_FLUX_ERR", "PDCSAP_FLUX",
                    "PDCSAP_FLUX_ERR", "QUALITY")}
        units = {name: table.columns[name].unit for name in ("SAP_FLUX", "PDCSAP_FLUX")}
        return {"tic": primary["TICID"], "sector": primary["SECTOR"],
                "camera": primary["CAMERA"], "ccd": primary["CCD"],
                "timedel": table.header["TIMEDEL"], "bjdrefi": table.header["BJDREFI"],
                "bjdreff": table.header["BJDREFF"], "units": units, **columns}


def stored(session: Session, file: dict):
    """(target, observation, times, SAP, PDCSAP, flags) stored for a file's TIC id.

    The observation is the one the target's times belong to (each real file is
    the only light curve of its target), so its sector, camera and CCD are checked
    against the file rather than used to find it.
    """
    target = session.scalars(select(Target).where(Target.name == file["tic"])).one()
    times = session.scalars(select(TargetSpecificTime).filter_by(target_id=target.id)).one()
    observation = session.get(TESSObservation, times.observation_id)
    keys = {"target_id": target.id, "observation_id": observation.id}
    sap, pdcsap = session.scalars(select(DataSet).filter_by(**keys).order_by(
        DataSet.processing_method_id.is_not(None))).all()
    flags = session.scalars(select(QualityFlagArray).filter_by(**keys)).one()
    return target, observation, times, sap, pdcsap, flags


@pytest.fixture
def spoc_files(real_file) -> list[pathlib.Path]:
    return [real_file(key) for key in SPOC_LIGHT_CURVES]


def test_real_files_are_three_targets_in_two_sectors(spoc_files):
    found = {(f["tic"], f["sector"], f["camera"], f["ccd"], round(f["timedel"] * 86400))
             for f in map(astropy_read, spoc_files)}
    assert found == {(358108509, 1, 3, 3, 120), (55652896, 1, 4, 1, 120),
                     (160148385, 2, 2, 1, 120)}


@pytest.mark.parametrize("jobs", [1, 2])
def test_real_light_curves_load_with_every_value_as_in_the_file(session, spoc_files, jobs):
    """With ``jobs=2`` the records come from worker processes, pickled narrow."""
    before = counts(session)
    report = load_lightcurves(session, spoc_files, progress=False, jobs=jobs)
    assert (report.loaded, report.skipped, report.failures) == (spoc_files, [], [])
    after = counts(session)
    assert {name: after[name] - before[name] for name in after} == {
        "target": 3, "observation": 3, "tess_observation": 3, "target_specific_time": 3,
        "dataset": 6, "dataset_hierarchy": 3, "quality_flag_array": 3}
    session.expire_all()
    for path in spoc_files:
        file = astropy_read(path)
        target, observation, times, sap, pdcsap, flags = stored(session, file)
        assert target.catalog.host_mission.name == "TESS"
        assert (observation.sector, observation.camera, observation.ccd) == \
            (file["sector"], file["camera"], file["ccd"])
        assert observation.cadence_seconds == 120
        assert same_bits(observation.cadence_reference, file["CADENCENO"].astype(np.int64))
        bjd = (file["TIME"].astype(np.float64) + float(file["bjdrefi"])) + file["bjdreff"]
        assert same_bits(times.barycentric_julian_dates, bjd)
        assert np.isnan(bjd).any() and np.isnan(file["SAP_FLUX"]).any()  # real gaps kept
        for dataset, prefix in ((sap, "SAP_FLUX"), (pdcsap, "PDCSAP_FLUX")):
            assert same_bits(dataset.values, file[prefix].astype(np.float64))
            assert same_bits(dataset.errors, file[f"{prefix}_ERR"].astype(np.float64))
            assert u.Unit(dataset.unit) == u.electron / u.s
            assert file["units"][prefix] == "e-/s"
        assert sap.processing_method is None and pdcsap.processing_method is not None
        assert pdcsap.source_datasets == [sap]
        assert type(flags) is TESSQualityFlagArray
        assert same_bits(flags.quality_flags, file["QUALITY"].astype(np.int64))
        assert np.count_nonzero(flags.quality_flags) > 0


def _number_or_none(header: fits.Header, keyword: str) -> float | None:
    value = header.get(keyword)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def test_real_files_give_their_targets_a_sky_position(session, spoc_files):
    load_lightcurves(session, spoc_files, progress=False)
    session.expire_all()
    with_motion = 0
    for path in spoc_files:
        with fits.open(path) as hdul:
            header = hdul[0].header
            want = {"ra": header["RA_OBJ"], "dec": header["DEC_OBJ"],
                    "epoch": header["EQUINOX"], "pm_ra": _number_or_none(header, "PMRA"),
                    "pm_dec": _number_or_none(header, "PMDEC"),
                    "magnitude": header["TESSMAG"]}
        target = session.scalars(select(Target).where(Target.name == header["TICID"])).one()
        got = {name: getattr(target, name) for name in want}
        assert got == want, path.name
        assert target.magnitude_band == "TESS"
        coord = target.coord
        assert (coord.ra.deg, coord.dec.deg) == (want["ra"], want["dec"])
        if want["pm_ra"] is not None:
            with_motion += 1
            assert coord.pm_ra_cosdec.to_value(u.mas / u.yr) == pytest.approx(want["pm_ra"])
    assert with_motion >= 1  # a real file with a proper motion, at least


def test_loading_the_real_files_twice_changes_nothing(session, spoc_files):
    load_lightcurves(session, spoc_files, progress=False)
    first = counts(session)
    arrays = [tuple(np.copy(a) for a in (times.barycentric_julian_dates, sap.values,
                                          pdcsap.errors, flags.quality_flags))
              for _, _, times, sap, pdcsap, flags in
              (stored(session, astropy_read(path)) for path in spoc_files)]
    report = load_lightcurves(session, spoc_files, progress=False)
    assert (report.loaded, report.skipped, report.failures) == ([], spoc_files, [])
    assert counts(session) == first
    session.expire_all()
    for path, before in zip(spoc_files, arrays, strict=True):
        _, _, times, sap, pdcsap, flags = stored(session, astropy_read(path))
        now = (times.barycentric_julian_dates, sap.values, pdcsap.errors, flags.quality_flags)
        assert all(same_bits(a, b) for a, b in zip(now, before, strict=True))


def test_gzipped_copy_of_a_real_file_is_the_same_light_curve(session, real_file, tmp_path):
    path = real_file("tess_spoc_lc")
    packed = tmp_path / f"{path.name}.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    first = load_lightcurves(session, [path], progress=False)
    assert first.loaded == [path]
    after_first = counts(session)
    second = load_lightcurves(session, [packed], progress=False)
    assert (second.loaded, second.skipped, second.failures) == ([], [packed], [])
    assert counts(session) == after_first


#: What each real file is (as the archive describes it) and the primary-header
#: cards whose values the refusal must quote.
PRODUCTS = {
    "kepler_llc": ("a Kepler long-cadence light curve", ("TELESCOP", "KEPLERID")),
    "kepler_llc_q5": ("a Kepler long-cadence light curve", ("TELESCOP", "KEPLERID")),
    "k2_llc": ("a K2 long-cadence light curve", ("MISSION", "CAMPAIGN", "KEPLERID")),
    "k2_tpf": ("a K2 target pixel file", ("MISSION", "CAMPAIGN", "KEPLERID")),
    "tesscut_ffi_cutout": ("a TESScut full-frame-image cutout", ("CAMERA", "CCD")),
    "tess_tpf_trimmed": ("a TESS target pixel file", ("TICID", "SECTOR")),
}


@pytest.mark.parametrize("key", NOT_SPOC)
def test_real_products_that_are_not_spoc_light_curves_are_refused(session, real_file, key):
    path = real_file(key)
    before = counts(session)
    report = load_lightcurves(session, [path], progress=False)
    assert (report.loaded, report.skipped) == ([], [])
    ((failed, reason),) = report.failures
    assert failed == path and counts(session) == before
    product, cards = PRODUCTS[key]
    assert reason.startswith(f"{product} (") and reason.endswith(", not a TESS SPOC light curve")
    with fits.open(path) as hdul:
        for card in cards:
            assert f"{card} = {hdul[0].header[card]!r}" in reason


def test_generated_spoc_file_has_the_real_layout(real_file, tmp_path):
    real = real_file("tess_spoc_lc")
    with fits.open(real) as r:
        method = r["LIGHTCURVE"].header["PDCMETHD"]
    made = write_spoc_lightcurve(tmp_path, tic_id=358108509, sector=1, camera=3, ccd=3,
                                 pdc_method=method)
    with fits.open(real) as r, fits.open(made) as g:
        assert [(h.name, type(h)) for h in g] == [(h.name, type(h)) for h in r]
        assert [(c.name, c.format, c.unit) for c in g["LIGHTCURVE"].columns] == \
            [(c.name, c.format, c.unit) for c in r["LIGHTCURVE"].columns]
        assert g["APERTURE"].data.dtype == r["APERTURE"].data.dtype
        assert g["APERTURE"].data.shape == r["APERTURE"].data.shape
        for index, keywords in ((0, ("TELESCOP", "INSTRUME", "OBJECT", "TICID", "SECTOR",
                                     "CAMERA", "CCD", "ORIGIN", "CREATOR", "PROCVER",
                                     "DATA_REL", "FILEVER", "RADESYS", "EQUINOX", "RA_OBJ",
                                     "DEC_OBJ", "PMRA", "PMDEC", "TESSMAG")),
                                (1, ("TICID", "TIMEDEL", "BJDREFI", "BJDREFF", "TIMEUNIT",
                                     "TIMESYS", "TIMEREF", "TSTART", "TSTOP", "INT_TIME",
                                     "PDCMETHD", "EXTNAME"))):
            for keyword in keywords:
                assert type(g[index].header[keyword]) is type(r[index].header[keyword]), keyword
            for keyword in ("TELESCOP", "INSTRUME", "TIMEUNIT", "TIMESYS", "TIMEREF",
                            "BJDREFI", "BJDREFF", "ORIGIN"):
                if keyword in r[index].header:
                    assert g[index].header[keyword] == r[index].header[keyword], keyword
        # Every keyword the generator writes in these two headers is one SPOC writes,
        # apart from DATASUM (real SPOC files carry CHECKSUM alone).
        for index in (0, 1):
            extra = set(g[index].header) - set(r[index].header) - {"DATASUM"}
            assert not {k for k in extra if k[:5] not in ("TTYPE", "TFORM", "TUNIT")}, extra


#: Uncertainty columns of a SPOC light curve: one value per cadence, not one per file.
ERROR_COLUMNS = ("SAP_FLUX_ERR", "PDCSAP_FLUX_ERR", "SAP_BKG_ERR", "MOM_CENTR1_ERR",
                 "MOM_CENTR2_ERR")


def _scatter(data, name: str) -> tuple[float, float]:
    """(fraction of distinct finite values, relative scatter about the median) of a column."""
    values = np.asarray(data[name], dtype=float)
    values = values[np.isfinite(values)]
    return len(np.unique(values)) / len(values), float(np.std(values) / np.median(values))


@pytest.mark.parametrize("key", SPOC_LIGHT_CURVES)
def test_generated_uncertainties_vary_per_cadence_as_real_ones_do(real_file, key, tmp_path):
    """A real file's error columns differ at almost every cadence (by 0.4-22 % of
    their median in the three files); the generator once wrote one value per
    column, which made them compress ~200-fold where real ones barely compress."""
    made = write_spoc_lightcurve(tmp_path, tic_id=358108509, sector=1, camera=3, ccd=3)
    with fits.open(real_file(key)) as r, fits.open(made) as g:
        for name in ERROR_COLUMNS:
            for data in (r["LIGHTCURVE"].data, g["LIGHTCURVE"].data):
                distinct, scatter = _scatter(data, name)
                assert distinct > 0.8, name
                assert 0.002 < scatter < 0.5, name
        for data in (r["LIGHTCURVE"].data, g["LIGHTCURVE"].data):
            ratio = np.nanmedian(np.asarray(data["PDCSAP_FLUX_ERR"], float)
                                 / np.asarray(data["SAP_FLUX_ERR"], float))
            assert 1.0 < ratio < 1.5       # PDC's errors are SAP's, inflated (1.16-1.37)
