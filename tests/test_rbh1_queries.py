"""RBH-1 zones 1-3: the views and SQL functions of migration 0004, their Python twins,
footprint searches and the zone-3 writing services, on SQLite and PostgreSQL/PostGIS."""

from __future__ import annotations

import datetime as dt
import enum
import math
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from lightcurvedb.core.geometry import SkyPolygon
from lightcurvedb.missions import jwst
from lightcurvedb.missions._common import cadence_from_mjd
from lightcurvedb.rbh1 import (
    FUNCTION_NAMES,
    VIEW_NAMES,
    DataLevel,
    EmissionLine,
    EmissionLineFit,
    GeometricRegion,
    IFUSpaxel,
    InstrumentType,
    MCMCMetadata,
    MCMCParameterSummary,
    MCMCRun,
    ParameterSummary,
    PhysicalProperties,
    PhysicalPropertiesRow,
    PipelineRun,
    QualityFlag,
    RBH1Observation,
    RegionOfInterest,
    RowValidationError,
    WCSSolution,
    footprints_containing,
    get_spaxel_lines,
    get_spaxels_in_region,
    gold_sample,
    kinematic_gradient,
    mcmc_inventory,
    metallicity_profile,
    overlapping_footprints,
    record_emission_lines,
    record_mcmc_run,
    record_physical_properties,
)

#: RBH-1's compact host, where the linear feature starts (deg).
RA0, DEC0 = 40.45, -8.35
COS_DEC = math.cos(math.radians(DEC0))
ARCSEC = 1 / 3600
#: Half the diagonal of a 6" x 6" IFU field (the field is rotated by 45 degrees).
HALF_DIAGONAL = 3 * math.sqrt(2) * ARCSEC
Z_FEATURE = 0.964
C_KMS = 299_792.458
REST_UM = {"Halpha": 0.656280, "[NII]6583": 0.658345, "[OIII]5007": 0.500684}

GOLD, SILVER, BRONZE, REJECTED = (QualityFlag.GOLD, QualityFlag.SILVER, QualityFlag.BRONZE,
                                  QualityFlag.REJECTED)
R = GeometricRegion
#: name -> (x, y, region, projected distance from the host in kpc, quality), listed in
#: insertion order, which is deliberately not the order along the feature.
SPAXELS = {
    "middle": (18, 36, R.WAKE_MIDDLE, 14.0, GOLD),
    "host": (30, 30, R.HOST, 0.4, GOLD),
    "tip": (26, 50, R.TIP, 38.0, GOLD),
    "inner_b": (22, 34, R.WAKE_INNER, 5.0, SILVER),
    "inner_a": (24, 32, R.WAKE_INNER, 2.5, GOLD),
    "outer": (20, 44, R.WAKE_OUTER, 27.0, BRONZE),
    "inner_rejected": (21, 35, R.WAKE_INNER, 6.0, REJECTED),
    "sky": (50, 5, R.BACKGROUND, None, SILVER),
}


def _ifu_footprint(ra: float, dec: float) -> SkyPolygon:
    """A 6" x 6" NIRSpec IFU field centred on (ra, dec), rotated by 45 degrees (a diamond)."""
    dra = HALF_DIAGONAL / COS_DEC
    return SkyPolygon(((ra + dra, dec), (ra, dec + HALF_DIAGONAL), (ra - dra, dec),
                       (ra, dec - HALF_DIAGONAL)))


def _cube(session, ifu, index: int, footprint: SkyPolygon) -> WCSSolution:
    """A JWST s3d cube: core observation and frame, zone-0 catalog row, zone-1 WCS."""
    mjd = 60200.25 + index / 24
    observation = jwst.JWSTObservation(
        instrument=ifu, program_id=3149, observation_number=1, visit_number=index + 1,
        grating="G140M", filter_name="F100LP", exposure_time=2918.0, exposure_type="NRS_IFU")
    file_name = f"jw03149001001_0{index + 1}_nirspec_g140m-f100lp_s3d.fits"
    frame = jwst.JWSTS3DFrame(
        observation=observation, cadence=cadence_from_mjd(mjd), bitpix=-32, naxis=3,
        naxis_values=[60, 60, 1447], file_path=f"/data/rbh1/{file_name}",
        rootname=file_name.removesuffix("_s3d.fits"), exposure_start_mjd=mjd,
        exposure_time=2918.0, filter_name="F100LP")
    catalog = RBH1Observation(
        frame=frame, file_name=file_name, file_path=f"/data/rbh1/{file_name}",
        instrument=InstrumentType.JWST_NIRSPEC, data_level=DataLevel.RESAMPLED,
        file_type="s3d", target_name="RBH-1", program_id=3149, filter_name="F100LP",
        grating="G140M", exposure_time=2918.0, exposure_start_mjd=mjd, n_extensions=6,
        file_size_bytes=123_456_789, sha256=f"{index:064x}")
    ra_min, dec_min, ra_max, dec_max = footprint.bounds
    centre_ra, centre_dec = (ra_min + ra_max) / 2, (dec_min + dec_max) / 2
    scale = 0.1 * ARCSEC * math.sqrt(0.5)
    wcs = WCSSolution(
        observation=catalog, footprint=footprint, footprint_method="celestial_subwcs",
        n_chips=1, ctype1="RA---TAN", ctype2="DEC--TAN", crval1=centre_ra, crval2=centre_dec,
        crpix1=30.5, crpix2=30.5, cd1_1=-scale, cd1_2=scale, cd2_1=scale, cd2_2=scale,
        naxis1=60, naxis2=60, pixel_scale_arcsec=0.1,
        ra_span_arcsec=(ra_max - ra_min) * COS_DEC * 3600,
        dec_span_arcsec=(dec_max - dec_min) * 3600,
        ra_min=ra_min, ra_max=ra_max, dec_min=dec_min, dec_max=dec_max)
    session.add(wcs)
    return wcs


def _line_fits(spaxels) -> list[EmissionLineFit]:
    """Hα, [NII] and [OIII] in every spaxel; the velocity rises along the feature."""
    fits = []
    for name, spaxel in spaxels.items():
        distance = spaxel.distance_from_host_kpc
        along = 0.0 if distance is None else distance
        for line, rest in REST_UM.items():
            if name == "sky" and line != "Halpha":
                continue
            velocity = -40.0 if distance is None else 20.0 + 25.0 * distance
            flux = {"Halpha": 9.0, "[NII]6583": 3.0, "[OIII]5007": 5.0}[line] / (1 + along)
            quality = GOLD
            if name == "inner_b" and line == "Halpha":
                quality = SILVER
            if name == "outer" and line == "[OIII]5007":
                quality = BRONZE
            if name == "sky":
                quality = REJECTED
            fits.append(EmissionLineFit(
                spaxel_id=spaxel.spaxel_id, line_name=line, rest_wavelength_um=rest,
                observed_wavelength_um=rest * (1 + Z_FEATURE) * (1 + velocity / C_KMS),
                flux=flux, flux_err=flux / 12.0, velocity_kms=velocity,
                velocity_err_kms=8.0 + along / 5, fit_quality=quality,
                sigma_kms=None if line == "[OIII]5007" else 60.0 + along))
    return fits


def _properties(spaxels) -> list[PhysicalPropertiesRow]:
    """Metallicity falling along the feature (N2 calibration); none for the outer spaxel."""
    rows = []
    for name, spaxel in spaxels.items():
        if name == "outer":
            continue
        distance = spaxel.distance_from_host_kpc
        rows.append(PhysicalPropertiesRow(
            spaxel_id=spaxel.spaxel_id,
            metallicity_12logoh=None if distance is None else 8.72 - 0.012 * distance,
            metallicity_err=None if distance is None else 0.04 + 0.002 * distance,
            extinction_av=0.3, electron_density_cm3=150.0, sfr_msun_yr=0.02, method="N2"))
    return rows


SPAXEL_MCMC = MCMCRun(
    model_name="gaussian_triplet", n_walkers=32, n_steps=5000, n_burn=1000, converged=True,
    acceptance_fraction=0.34, started_at=dt.datetime(2024, 12, 26, 9, 0, tzinfo=dt.UTC),
    completed_at=dt.datetime(2024, 12, 26, 9, 42, tzinfo=dt.UTC),
    chain_path="/data/rbh1/chains/inner_a.h5")
SPAXEL_PARAMETERS = [
    ParameterSummary("v_halpha", 82.4, 74.1, 90.8, mean=82.6, std=8.3, r_hat=1.004),
    ParameterSummary("sigma_kms", 61.9, 55.0, 69.2, mean=62.0, std=7.1, r_hat=1.011),
    ParameterSummary("flux_halpha", 2.57, 2.35, 2.80, mean=2.58, std=0.22, r_hat=1.002),
    ParameterSummary("nii_halpha_ratio", 0.33, 0.29, 0.37, r_hat=1.021),
]


@pytest.fixture
def rbh1_data(session):
    """Zones 0-3 of a small RBH-1 data set: three cubes, eight spaxels, fits and MCMC runs."""
    ifu = jwst.create_jwst_instruments(session)
    cubes = [
        _cube(session, ifu, 0, _ifu_footprint(RA0, DEC0)),
        # A second pointing 5" up the feature: its field overlaps the first.
        _cube(session, ifu, 1, _ifu_footprint(RA0, DEC0 + 5 * ARCSEC)),
        # A pointing a minute of arc away: overlaps neither.
        _cube(session, ifu, 2, _ifu_footprint(RA0 + 60 * ARCSEC / COS_DEC, DEC0)),
    ]
    session.flush()
    spaxels = {}
    for name, (x, y, region, distance, quality) in SPAXELS.items():
        spaxels[name] = IFUSpaxel(
            wcs_solution=cubes[0], x=x, y=y,
            ra=RA0 + (x - 30) * 0.1 * ARCSEC / COS_DEC, dec=DEC0 + (y - 30) * 0.1 * ARCSEC,
            region=region, distance_from_host_kpc=distance, snr_median=40.0 / (1 + x - 17),
            snr_max=90.0 / (1 + x - 17), flux_median=1e-19, n_valid_channels=1400,
            quality=quality)
        session.add(spaxels[name])
        session.flush()  # ids in SPAXELS order
    wake = RegionOfInterest(
        name="inner wake", region=R.WAKE_INNER,
        footprint=SkyPolygon(((RA0 - ARCSEC, DEC0), (RA0 + ARCSEC, DEC0),
                              (RA0 + ARCSEC, DEC0 + 1.5 * ARCSEC),
                              (RA0 - ARCSEC, DEC0 + 1.5 * ARCSEC))),
        distance_min_kpc=1.0, distance_max_kpc=8.0)
    session.add(wake)
    session.flush()
    record_emission_lines(session, _line_fits(spaxels), run_name="rbh1-phase04")
    record_physical_properties(session, _properties(spaxels), run_name="rbh1-phase04")
    spaxel_run = record_mcmc_run(
        session, {**vars(SPAXEL_MCMC), "spaxel_id": spaxels["inner_a"].spaxel_id},
        SPAXEL_PARAMETERS, run_name="rbh1-phase04")
    region_run = record_mcmc_run(
        session, MCMCRun(model_name="linear_velocity_gradient", n_walkers=64, n_steps=2000,
                         n_burn=500, converged=False, region_id=wake.region_id,
                         acceptance_fraction=0.12),
        [{"parameter": "dv_dr", "median": 25.1, "p16": 22.0, "p84": 28.3, "r_hat": 1.31},
         {"parameter": "v0", "median": 19.5, "p16": 12.2, "p84": 27.0, "r_hat": 1.18}],
        run_name="rbh1-phase04")
    return SimpleNamespace(cubes=cubes, spaxels=spaxels, wake=wake,
                           mcmc_ids=(spaxel_run.mcmc_id, region_run.mcmc_id))


def _plain(value):
    return value.value if isinstance(value, enum.Enum) else value


def _approx_rows(rows):
    """Rows as tuples, enums as their values and floats compared with pytest.approx."""
    return [tuple(pytest.approx(v, rel=1e-12) if isinstance(v, float) else _plain(v)
                  for v in row) for row in rows]


def _tuples(rows):
    return [tuple(_plain(v) for v in row) for row in rows]


def _prefix(backend):
    return "rbh1." if backend == "postgresql" else ""


def _view(session, backend, name, where=""):
    result = session.execute(sa.text(f"SELECT * FROM {_prefix(backend)}{name}{where}"))
    return list(result.keys()), result.all()


def _ids(data, *names):
    return [data.spaxels[name].spaxel_id for name in names]


# -- views against their Python twins ----------------------------------------------------------

def test_view_and_function_names():
    assert VIEW_NAMES == ("view_gold_sample", "view_kinematic_gradient", "view_mcmc_inventory",
                          "view_metallicity_profile")
    assert FUNCTION_NAMES == ("get_spaxel_lines", "get_spaxels_in_region")


def test_views_exist_after_migration(session, backend):
    inspector = sa.inspect(session.connection())
    schema = "rbh1" if backend == "postgresql" else None
    assert set(VIEW_NAMES) <= set(inspector.get_view_names(schema=schema))


def test_gold_sample_view_equals_helper(session, backend, rbh1_data):
    columns, rows = _view(session, backend, "view_gold_sample")
    helper = gold_sample(session)
    assert columns == list(helper[0]._fields)
    assert _tuples(rows) == _approx_rows(helper)
    # GOLD spaxels only, by id, each with its Hα fit and properties.
    assert [row.spaxel_id for row in helper] == _ids(rbh1_data, "middle", "host", "tip",
                                                     "inner_a")
    host = next(row for row in helper if row.spaxel_id == rbh1_data.spaxels["host"].spaxel_id)
    assert host.region == "HOST"
    assert host.halpha_velocity_kms == pytest.approx(20.0 + 25.0 * 0.4)
    assert host.halpha_fit_quality == "GOLD"
    assert host.metallicity_12logoh == pytest.approx(8.72 - 0.012 * 0.4)
    assert host.method == "N2"


def test_kinematic_gradient_view_equals_helper(session, backend, rbh1_data):
    columns, rows = _view(session, backend, "view_kinematic_gradient",
                          " WHERE line_name = 'Halpha'")
    halpha = kinematic_gradient(session)
    assert columns == list(halpha[0]._fields)
    assert _tuples(rows) == _approx_rows(halpha)
    # GOLD/SILVER Hα fits of spaxels with a distance, along the feature: the sky spaxel
    # (REJECTED fit, no distance) is left out; the velocity rises with distance.
    assert [row.spaxel_id for row in halpha] == _ids(
        rbh1_data, "host", "inner_a", "inner_b", "inner_rejected", "middle", "outer", "tip")
    distances = [row.distance_from_host_kpc for row in halpha]
    velocities = [row.velocity_kms for row in halpha]
    assert distances == sorted(distances)
    assert velocities == sorted(velocities) and velocities[-1] > 900
    assert {row.line_name for row in halpha} == {"Halpha"}

    _, every_line = _view(session, backend, "view_kinematic_gradient")
    assert _tuples(every_line) == _approx_rows(kinematic_gradient(session, line_name=None))
    # [OIII] of the outer spaxel is BRONZE: not in the gradient.
    outer = rbh1_data.spaxels["outer"].spaxel_id
    assert [row.line_name for row in every_line if row.spaxel_id == outer] == [
        "Halpha", "[NII]6583"]
    assert _tuples(kinematic_gradient(session, line_name="[OIII]5007")) == _tuples(
        [row for row in every_line if row.line_name == "[OIII]5007"])


def test_mcmc_inventory_view_equals_helper(session, backend, rbh1_data):
    columns, rows = _view(session, backend, "view_mcmc_inventory")
    helper = mcmc_inventory(session)
    assert columns == list(helper[0]._fields)
    assert _tuples(rows) == _approx_rows(helper)
    spaxel_fit, region_fit = helper
    assert (spaxel_fit.mcmc_id, region_fit.mcmc_id) == rbh1_data.mcmc_ids
    assert (spaxel_fit.spaxel_id, spaxel_fit.region_id, spaxel_fit.region) == (
        rbh1_data.spaxels["inner_a"].spaxel_id, None, "WAKE_INNER")
    assert (spaxel_fit.model_name, spaxel_fit.n_walkers, spaxel_fit.n_steps) == (
        "gaussian_triplet", 32, 5000)
    assert spaxel_fit.converged and spaxel_fit.n_parameters == 4
    assert spaxel_fit.max_r_hat == pytest.approx(1.021)
    assert (region_fit.spaxel_id, region_fit.region_name, region_fit.region) == (
        None, "inner wake", "WAKE_INNER")
    assert not region_fit.converged and region_fit.n_parameters == 2


def test_metallicity_profile_view_equals_helper(session, backend, rbh1_data):
    columns, rows = _view(session, backend, "view_metallicity_profile")
    helper = metallicity_profile(session)
    assert columns == list(helper[0]._fields)
    assert _tuples(rows) == _approx_rows(helper)
    # Along the feature; REJECTED, sky (no metallicity) and outer (no row) left out.
    assert [row.spaxel_id for row in helper] == _ids(
        rbh1_data, "host", "inner_a", "inner_b", "middle", "tip")
    metallicities = [row.metallicity_12logoh for row in helper]
    assert metallicities == sorted(metallicities, reverse=True)
    assert all(row.metallicity_err > 0 for row in helper)
    assert [row.region for row in helper] == ["HOST", "WAKE_INNER", "WAKE_INNER",
                                              "WAKE_MIDDLE", "TIP"]


def test_helpers_work_on_an_empty_zone_three(session):
    assert gold_sample(session) == []
    assert kinematic_gradient(session) == []
    assert mcmc_inventory(session) == []
    assert metallicity_profile(session) == []
    assert get_spaxel_lines(session, 1) == []
    assert get_spaxels_in_region(session, "TIP") == []


# -- the SQL functions (PostgreSQL) and their Python twins (both backends) --------------------

def test_spaxel_lines_helper(session, rbh1_data):
    spaxel = rbh1_data.spaxels["inner_b"]
    lines = get_spaxel_lines(session, spaxel.spaxel_id)
    # Byte-wise by name: "H" sorts before "[".
    assert [row.line_name for row in lines] == ["Halpha", "[NII]6583", "[OIII]5007"]
    assert [row.fit_quality for row in lines] == ["SILVER", "GOLD", "GOLD"]
    assert lines[0].velocity_kms == pytest.approx(20.0 + 25.0 * 5.0)
    assert lines[0].snr == pytest.approx(12.0)  # flux / flux_err, computed by the service
    assert [row.line_name for row in get_spaxel_lines(
        session, rbh1_data.spaxels["sky"].spaxel_id)] == ["Halpha"]


def test_spaxels_in_region_helper(session, rbh1_data):
    inner = get_spaxels_in_region(session, GeometricRegion.WAKE_INNER)
    assert [s.spaxel_id for s in inner] == _ids(rbh1_data, "inner_b", "inner_a",
                                                "inner_rejected")
    assert all(isinstance(s, IFUSpaxel) for s in inner)
    assert [s.spaxel_id for s in get_spaxels_in_region(session, "TIP")] == _ids(
        rbh1_data, "tip")
    with pytest.raises(ValueError, match="NOWHERE"):
        get_spaxels_in_region(session, "NOWHERE")


@pytest.mark.postgres_only
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_postgres_functions_equal_helpers(session, rbh1_data):
    for name in ("host", "inner_b", "outer", "sky"):
        spaxel_id = rbh1_data.spaxels[name].spaxel_id
        result = session.execute(sa.text("SELECT * FROM rbh1.get_spaxel_lines(:id)"),
                                 {"id": spaxel_id})
        helper = get_spaxel_lines(session, spaxel_id)
        assert list(result.keys()) == list(helper[0]._fields)
        assert _tuples(result.all()) == _approx_rows(helper)

    columns = [column.key for column in IFUSpaxel.__table__.columns]
    for region in ("WAKE_INNER", "HOST", "BACKGROUND"):
        result = session.execute(sa.text(
            "SELECT * FROM rbh1.get_spaxels_in_region(CAST(:region AS rbh1.geometric_region))"),
            {"region": region})
        assert list(result.keys()) == columns
        expected = [tuple(getattr(s, c) for c in columns)
                    for s in get_spaxels_in_region(session, region)]
        assert _tuples(result.all()) == _approx_rows(expected)
    literal = session.execute(sa.text(
        "SELECT spaxel_id FROM rbh1.get_spaxels_in_region('WAKE_INNER')")).scalars().all()
    assert literal == _ids(rbh1_data, "inner_b", "inner_a", "inner_rejected")
    assert session.execute(sa.text(
        "SELECT count(*) FROM rbh1.get_spaxel_lines(-1)")).scalar() == 0


# -- footprints --------------------------------------------------------------------------------

def _wcs_ids(solutions):
    return [w.wcs_id for w in solutions]


def test_footprints_containing_a_point(session, rbh1_data):
    first, second, far = rbh1_data.cubes
    assert _wcs_ids(footprints_containing(session, RA0, DEC0)) == [first.wcs_id]
    # 2.5" up the feature: inside both overlapping IFU fields.
    assert _wcs_ids(footprints_containing(session, RA0, DEC0 + 2.5 * ARCSEC)) == [
        first.wcs_id, second.wcs_id]
    assert _wcs_ids(footprints_containing(session, RA0 + 60 * ARCSEC / COS_DEC, DEC0)) == [
        far.wcs_id]
    # Inside the first field's bounding box but outside the rotated field itself.
    corner = (RA0 - 0.8 * HALF_DIAGONAL / COS_DEC, DEC0 - 0.8 * HALF_DIAGONAL)
    assert first.ra_min < corner[0] < first.ra_max and first.dec_min < corner[1] < first.dec_max
    assert footprints_containing(session, *corner) == []
    # Half a minute of arc away, between the fields.
    assert footprints_containing(session, RA0 + 30 * ARCSEC / COS_DEC, DEC0) == []


def test_overlapping_footprints(session, rbh1_data):
    first, second, far = rbh1_data.cubes
    assert _wcs_ids(overlapping_footprints(session, first.wcs_id)) == [second.wcs_id]
    assert _wcs_ids(overlapping_footprints(session, second)) == [first.wcs_id]
    assert overlapping_footprints(session, far.wcs_id) == []

    # A 2" box over the first field's lower tip overlaps it alone.
    tip = DEC0 - HALF_DIAGONAL
    box = SkyPolygon(((RA0 - ARCSEC, tip - ARCSEC), (RA0 + ARCSEC, tip - ARCSEC),
                      (RA0 + ARCSEC, tip + ARCSEC), (RA0 - ARCSEC, tip + ARCSEC)))
    assert _wcs_ids(overlapping_footprints(session, box)) == [first.wcs_id]
    # A small box in the corner of its bounding box, outside the field: no overlap.
    corner_ra = RA0 - 0.85 * HALF_DIAGONAL / COS_DEC
    corner_dec = DEC0 - 0.85 * HALF_DIAGONAL
    half = 0.1 * ARCSEC
    corner = [(corner_ra - half, corner_dec - half), (corner_ra + half, corner_dec - half),
              (corner_ra + half, corner_dec + half), (corner_ra - half, corner_dec + half)]
    assert first.ra_min < corner_ra < first.ra_max
    assert overlapping_footprints(session, corner) == []
    # A 2' box around the whole field of view covers all three fields.
    big = SkyPolygon(((RA0 - 0.02, DEC0 - 0.02), (RA0 + 0.04, DEC0 - 0.02),
                      (RA0 + 0.04, DEC0 + 0.02), (RA0 - 0.02, DEC0 + 0.02)))
    assert _wcs_ids(overlapping_footprints(session, big)) == _wcs_ids(rbh1_data.cubes)
    with pytest.raises(LookupError, match="wcs_id=-5"):
        overlapping_footprints(session, -5)


# -- the zone-3 services -----------------------------------------------------------------------

def _count(session, model):
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def _spaxel(session, cube=None, **overrides):
    """A spaxel of ``cube`` (by default a new cube), for the service tests."""
    if cube is None:
        cube = _cube(session, jwst.create_jwst_instruments(session), 7,
                     _ifu_footprint(RA0, DEC0))
    values = {"wcs_solution": cube, "x": 30, "y": 30, "ra": RA0, "dec": DEC0,
              "region": R.HOST, "distance_from_host_kpc": 0.0, "n_valid_channels": 1447,
              "quality": GOLD, **overrides}
    spaxel = IFUSpaxel(**values)
    session.add(spaxel)
    session.flush()
    return spaxel


def _halpha(spaxel_id, **overrides):
    values = {"spaxel_id": spaxel_id, "line_name": "Halpha", "rest_wavelength_um": 0.65628,
              "observed_wavelength_um": 1.28894, "flux": 3.2, "flux_err": 0.4,
              "velocity_kms": 55.0, "velocity_err_kms": 9.0, "fit_quality": "GOLD",
              "sigma_kms": 70.0, **overrides}
    return EmissionLineFit(**values)


@pytest.mark.parametrize(("bad_row", "field", "message"), [
    ({"flux": float("nan")}, "flux", "must be finite"),
    ({"flux_err": -0.1}, "flux_err", "must be > 0"),
    ({"flux_err": 0.0}, "flux_err", "must be > 0"),
    ({"velocity_kms": float("inf")}, "velocity_kms", "must be finite"),
    ({"spaxel_id": 987_654_321}, "spaxel_id", "987654321 is not a spaxel"),
    ({"fit_quality": "PLATINUM"}, "fit_quality", "must be one of GOLD"),
])
def test_emission_line_errors_name_the_row_and_write_nothing(session, bad_row, field,
                                                             message):
    spaxel = _spaxel(session)
    rows = [_halpha(spaxel.spaxel_id),
            _halpha(spaxel.spaxel_id, line_name="[NII]6583", rest_wavelength_um=0.658345),
            _halpha(**{"spaxel_id": spaxel.spaxel_id, "line_name": "[OIII]5007",
                       "rest_wavelength_um": 0.500684, **bad_row})]
    runs_before = _count(session, PipelineRun)
    with pytest.raises(RowValidationError, match=rf"emission line row 2: {field} .*{message}"
                       ) as raised:
        record_emission_lines(session, rows)
    assert (raised.value.index, raised.value.field) == (2, field)
    assert _count(session, EmissionLine) == 0
    assert _count(session, PipelineRun) == runs_before
    # The session is still usable, and the good rows go in once the bad one is fixed.
    assert record_emission_lines(session, rows[:2]).inserted == 2


def test_dict_rows_and_their_errors(session):
    spaxel = _spaxel(session)
    good = vars(_halpha(spaxel.spaxel_id))
    with pytest.raises(RowValidationError, match="emission line row 1: flux_err is missing"):
        record_emission_lines(session, [good, {k: v for k, v in good.items()
                                               if k != "flux_err"}])
    with pytest.raises(RowValidationError, match="row 0: velocity is not a field"):
        record_emission_lines(session, [{**good, "velocity": 1.0}])
    with pytest.raises(RowValidationError, match=r"row 1: repeats row 0 \(spaxel_id="):
        record_emission_lines(session, [good, good])
    assert _count(session, EmissionLine) == 0
    counts = record_emission_lines(session, [good])
    assert (counts.inserted, counts.updated) == (1, 0)


def test_physical_property_and_mcmc_errors_write_nothing(session):
    spaxel = _spaxel(session)
    with pytest.raises(RowValidationError,
                       match="physical properties row 1: metallicity_err must be > 0"):
        record_physical_properties(session, [
            PhysicalPropertiesRow(spaxel.spaxel_id, 8.6, 0.05),
            PhysicalPropertiesRow(spaxel.spaxel_id + 1, 8.5, -0.05)])
    with pytest.raises(RowValidationError, match="physical properties row 0: spaxel_id 999999"):
        record_physical_properties(session, [PhysicalPropertiesRow(999_999, 8.6, 0.05)])
    assert _count(session, PhysicalProperties) == 0

    run = MCMCRun("gaussian", n_walkers=16, n_steps=100, n_burn=20, converged=True,
                  spaxel_id=spaxel.spaxel_id)
    with pytest.raises(RowValidationError, match="parameter summary row 1: p16 must be finite"):
        record_mcmc_run(session, run, [ParameterSummary("v", 1.0, 0.5, 1.5),
                                       ParameterSummary("s", 1.0, float("nan"), 1.5)])
    with pytest.raises(RowValidationError, match="parameter summary row 0: median must lie"):
        record_mcmc_run(session, run, [ParameterSummary("v", 2.0, 0.5, 1.5)])
    with pytest.raises(RowValidationError, match="MCMC run: n_burn must be < n_steps"):
        record_mcmc_run(session, {**vars(run), "n_burn": 100}, [])
    with pytest.raises(RowValidationError, match="MCMC run: region_id 4242 is not in"):
        record_mcmc_run(session, {**vars(run), "region_id": 4242}, [])
    with pytest.raises(RowValidationError, match="spaxel_id or region_id"):
        record_mcmc_run(session, {**vars(run), "spaxel_id": None}, [])
    assert _count(session, MCMCMetadata) == 0
    assert _count(session, MCMCParameterSummary) == 0
    assert _count(session, PipelineRun) == 0


def test_recording_again_updates_instead_of_duplicating(session):
    spaxel = _spaxel(session)
    other = _spaxel(session, spaxel.wcs_solution, x=31, distance_from_host_kpc=0.8)
    rows = [_halpha(spaxel.spaxel_id), _halpha(other.spaxel_id)]
    first = record_emission_lines(session, rows)
    assert (first.inserted, first.updated, first.written) == (2, 0, 2)
    # Loaded through the ORM before the second run: refreshed by it.
    assert [line.velocity_kms for line in spaxel.emission_lines] == [55.0]

    second = record_emission_lines(session, [
        _halpha(spaxel.spaxel_id, velocity_kms=61.5, fit_quality=SILVER),
        _halpha(spaxel.spaxel_id, line_name="[NII]6583", rest_wavelength_um=0.658345)])
    assert (second.inserted, second.updated) == (1, 1)
    assert _count(session, EmissionLine) == 3
    assert [(line.line_name, line.velocity_kms, line.fit_quality, line.run_id)
            for line in spaxel.emission_lines] == [
        ("Halpha", 61.5, SILVER, second.run_id), ("[NII]6583", 55.0, GOLD, second.run_id)]
    assert session.scalar(sa.select(EmissionLine.run_id).where(
        EmissionLine.spaxel_id == other.spaxel_id)) == first.run_id

    assert record_physical_properties(session, [
        PhysicalPropertiesRow(spaxel.spaxel_id, 8.61, 0.05, method="N2")]).inserted == 1
    again = record_physical_properties(session, [
        {"spaxel_id": spaxel.spaxel_id, "metallicity_12logoh": 8.55, "metallicity_err": 0.04}])
    assert (again.inserted, again.updated) == (0, 1)
    assert _count(session, PhysicalProperties) == 1
    stored = spaxel.physical_properties
    assert (stored.metallicity_12logoh, stored.metallicity_err, stored.method) == (
        8.55, 0.04, None)

    run = MCMCRun("gaussian", n_walkers=16, n_steps=100, n_burn=20, converged=False,
                  spaxel_id=spaxel.spaxel_id)
    params = [ParameterSummary("v", 1.0, 0.5, 1.5), ParameterSummary("s", 2.0, 1.5, 2.5)]
    fit = record_mcmc_run(session, run, params)
    assert (fit.inserted, fit.updated, fit.removed, fit.replaced) == (2, 0, 0, False)
    refit = record_mcmc_run(session, {**vars(run), "n_steps": 400, "converged": True},
                            [ParameterSummary("v", 1.1, 0.9, 1.3),
                             ParameterSummary("flux", 5.0, 4.0, 6.0)])
    assert (refit.mcmc_id, refit.replaced) == (fit.mcmc_id, True)
    assert (refit.inserted, refit.updated, refit.removed) == (1, 1, 1)
    assert _count(session, MCMCMetadata) == 1
    stored_fit = session.get(MCMCMetadata, fit.mcmc_id)
    assert (stored_fit.n_steps, stored_fit.converged, stored_fit.run_id) == (
        400, True, refit.run_id)
    assert [(p.parameter, p.median) for p in stored_fit.parameters] == [
        ("flux", 5.0), ("v", 1.1)]
    # Another model on the same spaxel is another fit.
    other_model = record_mcmc_run(session, {**vars(run), "model_name": "voigt"}, params)
    assert other_model.mcmc_id != fit.mcmc_id and not other_model.replaced
    assert [row.n_parameters for row in mcmc_inventory(session)] == [2, 2]


def test_every_call_records_a_pipeline_run(session):
    spaxel = _spaxel(session)
    before = dt.datetime.now(dt.UTC)
    lines = record_emission_lines(session, [_halpha(spaxel.spaxel_id)], run_name="fit-2024-12")
    props = record_physical_properties(session, [PhysicalPropertiesRow(spaxel.spaxel_id, 8.6,
                                                                       0.05)])
    mcmc = record_mcmc_run(session, MCMCRun("gaussian", 16, 100, 20, True,
                                            spaxel_id=spaxel.spaxel_id),
                           [ParameterSummary("v", 1.0, 0.5, 1.5)], run_name="fit-2024-12")
    again = record_emission_lines(session, [_halpha(spaxel.spaxel_id)], run_name="fit-2024-12")
    runs = session.scalars(sa.select(PipelineRun).order_by(PipelineRun.run_id)).all()
    assert [r.run_id for r in runs] == [lines.run_id, props.run_id, mcmc.run_id, again.run_id]
    assert [(r.run_name, r.stage_name, r.status, r.rows_processed, r.rows_failed)
            for r in runs] == [
        ("fit-2024-12", "emission_lines", "success", 1, 0),
        (runs[1].run_name, "physical_properties", "success", 1, 0),
        ("fit-2024-12", "mcmc", "success", 2, 0),
        ("fit-2024-12", "emission_lines", "success", 1, 0)]
    assert runs[1].run_name.startswith("rbh1-physical_properties-")
    assert all(before <= r.started_at <= r.completed_at for r in runs)
    assert runs[0].notes == "1 emission lines inserted, 0 updated (1 spaxels)"
    assert runs[3].notes == "0 emission lines inserted, 1 updated (1 spaxels)"
    assert "1 parameter summaries inserted" in runs[2].notes


def test_empty_input_records_an_empty_run(session):
    counts = record_emission_lines(session, [])
    assert (counts.inserted, counts.updated) == (0, 0)
    assert session.get(PipelineRun, counts.run_id).rows_processed == 0


def test_services_write_in_bulk(session):
    """One INSERT ... ON CONFLICT statement (an executemany) for all rows, not one per row."""
    first = _spaxel(session)
    spaxels = [first] + [_spaxel(session, first.wcs_solution, x=x, y=0) for x in range(40)]
    rows = [_halpha(s.spaxel_id, line_name=line) for s in spaxels for line in REST_UM]
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    connection = session.connection()
    sa.event.listen(connection, "before_cursor_execute", record)
    try:
        counts = record_emission_lines(session, rows)
    finally:
        sa.event.remove(connection, "before_cursor_execute", record)
    assert counts.inserted == len(rows) == 123
    writes = [s for s in statements if "INSERT INTO" in s and "emission_lines" in s]
    assert len(writes) == 1 and "ON CONFLICT" in writes[0]
    assert len(statements) < 10
    assert _count(session, EmissionLine) == 123
