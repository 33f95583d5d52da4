"""TESS, HST and JWST subclasses: instrument trees, named quality bits, polymorphic loading."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from astropy import units as u

from lightcurvedb.core.column_rules import ColumnValueError
from lightcurvedb.missions import hst, jwst, tess
from lightcurvedb.models import (
    FITSFrame,
    Instrument,
    Observation,
    QualityFlagArray,
    UnknownQualityBitError,
)
from lightcurvedb.testing import factories as f


def _instrument_count(session):
    return session.scalar(sa.select(sa.func.count()).select_from(Instrument))


# -- instrument trees ------------------------------------------------------------------------

def test_tess_tree_has_four_cameras_of_four_ccds_and_is_idempotent(session):
    root = tess.create_tess_instruments(session)
    assert _instrument_count(session) == 21  # TESS + 4 cameras + 16 CCDs
    assert [c.name for c in root.children] == ["Camera 1", "Camera 2", "Camera 3", "Camera 4"]
    assert all([d.name for d in c.children] == ["CCD 1", "CCD 2", "CCD 3", "CCD 4"]
               for c in root.children)
    assert tess.create_tess_instruments(session) is root
    assert _instrument_count(session) == 21
    assert tess.tess_ccd(session, 3, 2).path == "TESS > Camera 3 > CCD 2"
    with pytest.raises(ValueError, match="cameras 1-4 and CCDs 1-4"):
        tess.tess_ccd(session, 5, 1)


@pytest.mark.parametrize(("create", "path", "nodes"), [
    (hst.create_hst_instruments, "HST > WFC3 > UVIS", 3),
    # JWST > NIRSpec > IFU and the IFU's two detectors, NRS1 and NRS2
    (jwst.create_jwst_instruments, "JWST > NIRSpec > IFU", 5),
])
def test_hst_and_jwst_trees(session, create, path, nodes):
    leaf = create(session)
    assert leaf.path == path
    assert create(session) is leaf
    assert _instrument_count(session) == nodes


@pytest.mark.parametrize(("exp_type", "mode"), [
    ("NRS_IFU", "IFU"), ("NRS_FIXEDSLIT", "Fixed slit"), ("NRS_MSASPEC", "MOS"),
    ("NRS_BRIGHTOBJ", "BOTS"), ("nrs_ifu ", "IFU")])
def test_nirspec_exposure_types_map_to_modes_and_detectors(session, exp_type, mode):
    node, detector = jwst.jwst_instrument(session, "NIRSPEC", exp_type, "nrs2")
    assert node.path == f"JWST > NIRSpec > {mode}"
    assert detector.path == f"JWST > NIRSpec > {mode} > NRS2" and detector.parent is node
    assert jwst.jwst_instrument(session, "NIRSPEC", exp_type, "NRS2") == (node, detector)


def test_jwst_modes_of_other_instruments_are_named_by_exp_type(session):
    node, detector = jwst.jwst_instrument(session, "MIRI", "MIR_MRS", "MIRIFULONG")
    assert detector.path == "JWST > MIRI > MIR_MRS > MIRIFULONG"


@pytest.mark.parametrize(("args", "message"), [
    (("NIRSPEC", "NRS_SPECTRUM", "NRS1"), "EXP_TYPE = 'NRS_SPECTRUM' is not a NIRSpec exposure"),
    (("NIRSPEC", "NRS_IFU", "NRS3"), "DETECTOR = 'NRS3' is not a NIRSpec detector (NRS1, NRS2)"),
    (("NIRSPECTRO", "NRS_IFU", "NRS1"), "INSTRUME = 'NIRSPECTRO' is not a JWST instrument"),
])
def test_unknown_jwst_keywords_are_named(session, args, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        jwst.jwst_instrument(session, *args)
    assert _instrument_count(session) == 0


def test_hst_detectors_map_to_the_tree(session):
    assert hst.hst_detector(session, "WFC3", "ir").path == "HST > WFC3 > IR"
    assert hst.hst_detector(session, "acs", "WFC").path == "HST > ACS > WFC"
    assert hst.hst_detector(session, "WFC3", "UVIS") is hst.create_hst_instruments(session)
    with pytest.raises(ValueError, match="DETECTOR = 'WFC' is not a WFC3 detector"):
        hst.hst_detector(session, "WFC3", "WFC")


# -- quality bits ----------------------------------------------------------------------------

def test_tess_bit_values_follow_the_spoc_documentation():
    bits = tess.TESS_QUALITY_BITS.bits
    # TESS Science Data Products Description, quality flags table: bit n has value 2**(n-1).
    assert (bits["attitude_tweak"], bits["safe_mode"], bits["coarse_point"],
            bits["earth_point"], bits["argabrightening"], bits["desaturation"],
            bits["manual_exclude"], bits["impulsive_outlier"], bits["stray_light"],
            bits["scattered_light"]) == (1, 2, 4, 8, 16, 32, 128, 512, 2048, 4096)
    assert len(bits) == 16


def test_jwst_dq_values_follow_the_pipeline_definitions():
    bits = jwst.JWST_DQ_BITS.bits
    assert (bits["do_not_use"], bits["saturated"], bits["jump_det"], bits["dropout"],
            bits["non_science"], bits["dead"], bits["hot"], bits["reference_pixel"]) == (
        1, 2, 4, 8, 512, 1024, 2048, 2**31)


def test_hst_dq_values():
    bits = hst.HST_DQ_BITS.bits
    assert (bits["reed_solomon_error"], bits["hot_pixel"], bits["full_well_saturation"],
            bits["cosmic_ray_drizzle"], bits["cosmic_ray_calwf3"]) == (1, 16, 256, 4096, 8192)


def test_tess_flags_mask_decode_and_hard_mask(session):
    words = np.array([0, 32, 128 | 32, 1024, 4, 0, 2048], dtype=np.int64)
    flags = tess.TESSQualityFlagArray(observation=f.ObservationFactory(), quality_flags=words)
    session.add(flags)
    session.flush()
    session.expire_all()
    stored = session.scalars(sa.select(QualityFlagArray)).one()
    assert type(stored) is tess.TESSQualityFlagArray
    assert stored.mask("desaturation", "manual_exclude").tolist() == [
        False, True, True, False, False, False, False]
    assert stored.decode() == [(), ("desaturation",), ("desaturation", "manual_exclude"),
                               ("collateral_cosmic",), ("coarse_point",), (), ("stray_light",)]
    # Hard bits drop desaturation, manual exclude and coarse point, keep cosmic rays and
    # stray light (cadences SPOC still uses).
    assert stored.hard_mask().tolist() == [False, True, True, False, True, False, False]


def test_unknown_bit_names_list_the_valid_ones(session):
    flags = tess.TESSQualityFlagArray(quality_flags=np.array([1]))
    with pytest.raises(UnknownQualityBitError, match="'desat'.*valid names: aperture_cosmic"):
        flags.mask("desat")
    with pytest.raises(UnknownQualityBitError, match="this flag type names no bits"):
        QualityFlagArray(quality_flags=np.array([1])).mask("cosmic_ray")


def test_jwst_top_bit_survives_storage(session):
    words = np.array([2**31 | 1, 2, 0], dtype=np.uint32)
    flags = jwst.JWSTQualityFlagArray(observation=f.ObservationFactory(), quality_flags=words)
    session.add(flags)
    session.flush()
    session.expire_all()
    stored = session.scalars(sa.select(jwst.JWSTQualityFlagArray)).one()
    assert stored.decode()[0] == ("do_not_use", "reference_pixel")
    assert stored.hard_mask().tolist() == [True, True, False]


def test_unnamed_bits_are_reported_by_value():
    flags = hst.HSTQualityFlagArray(quality_flags=np.array([16 | 65536]))
    assert flags.decode() == [("hot_pixel", "bit_65536")]


# -- polymorphic observations and frames -----------------------------------------------------

def _observations(session, n):
    ccd = tess.tess_ccd(session, 1, 1)
    uvis = hst.create_hst_instruments(session)
    ifu = jwst.create_jwst_instruments(session)
    for i in range(n):
        session.add_all([
            tess.TESSObservation(instrument=ccd, sector=i + 1, cadence_seconds=120,
                                 spacecraft_quaternion={"q1": [0.1, 0.2]}),
            hst.HSTObservation(instrument=uvis, program_id=17301, visit_id=f"{i:02d}",
                               filter_name="F606W", exposure_time=1200.0, detector="UVIS"),
            jwst.JWSTObservation(instrument=ifu, program_id=3149, observation_number=1,
                                 visit_number=i + 1, grating="G140M", filter_name="F100LP",
                                 exposure_time=2918.0, exposure_type="NRS_IFU"),
            Observation(instrument=ccd),
        ])
    session.flush()
    session.expire_all()


def _count_statements(session, action):
    statements = []
    connection = session.connection()

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(connection, "before_cursor_execute", record)
    try:
        result = action()
    finally:
        sa.event.remove(connection, "before_cursor_execute", record)
    return result, len(statements)


@pytest.mark.parametrize("n", [2, 20])
def test_base_query_returns_subclasses_without_a_query_per_row(session, n):
    _observations(session, n)
    rows, statements = _count_statements(
        session, lambda: [(type(o), o.__dict__.copy()) for o in session.scalars(
            sa.select(Observation).order_by(Observation.id))])
    kinds = [kind for kind, _ in rows]
    assert kinds.count(tess.TESSObservation) == n
    assert kinds.count(hst.HSTObservation) == n
    assert kinds.count(jwst.JWSTObservation) == n
    assert kinds.count(Observation) == n
    # Subclass columns arrived with the query: one SELECT for the base rows and one
    # selectin per subclass table, however many rows there are.
    assert all("sector" in attrs for kind, attrs in rows if kind is tess.TESSObservation)
    assert all("exposure_type" in attrs for kind, attrs in rows if kind is jwst.JWSTObservation)
    assert statements == 4


def test_tess_observation_knows_its_camera_and_ccd(session):
    obs = tess.TESSObservation(instrument=tess.tess_ccd(session, 2, 4), sector=14,
                               cadence_seconds=20)
    session.add(obs)
    session.flush()
    assert (obs.camera, obs.ccd) == (2, 4)
    assert repr(obs) == "TESSObservation(sector=14, camera=2, ccd=4, cadence_seconds=20)"


def test_tess_cadence_must_be_one_tess_flew(session):
    session.add(tess.TESSObservation(instrument=tess.tess_ccd(session, 1, 1), sector=1,
                                     cadence_seconds=60))
    # the CHECK constraint, read from the table metadata, refuses it before the flush
    with pytest.raises(ColumnValueError, match=r"TESSObservation.cadence_seconds = 60: not "
                                               r"one of 20, 120, 200, 600, 1800"), \
            session.begin_nested():
        session.flush()


def test_tess_cadence_check_is_in_the_database_too(session):
    obs = tess.TESSObservation(instrument=tess.tess_ccd(session, 1, 1), sector=1,
                               cadence_seconds=120)
    session.add(obs)
    session.flush()
    table = tess.TESSObservation.__table__
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.execute(sa.update(table).where(table.c.id == obs.id).values(cadence_seconds=60))


def test_frames_are_polymorphic_per_file_type(session):
    obs = f.ObservationFactory()
    common = {"observation": obs, "bitpix": -32, "naxis": 2, "naxis_values": [4096, 2051],
              "file_path": "/data/x.fits", "rootname": "iexo01abq", "exposure_time": 1200.0}
    session.add_all([
        hst.HSTFLCFrame(cadence=1, exposure_start_mjd=60100.5, **common),
        hst.HSTDRCFrame(cadence=1, exposure_start_mjd=60100.5, **common),
        jwst.JWSTS3DFrame(cadence=1, exposure_start_mjd=60200.25, **common),
        tess.TESSFFIFrame(observation=obs, cadence=1, bitpix=-32, naxis=2,
                          naxis_values=[2136, 2078], file_path="/data/ffi.fits", camera=1, ccd=1,
                          start_btjd=1325.3, end_btjd=1325.32, exposure_time=0.0197),
    ])
    session.flush()
    session.expire_all()
    frames = session.scalars(sa.select(FITSFrame).order_by(FITSFrame.id)).all()
    assert [(type(fr).__name__, getattr(fr, "file_type", None)) for fr in frames] == [
        ("HSTFLCFrame", "flc"), ("HSTDRCFrame", "drc"), ("JWSTS3DFrame", "s3d"),
        ("TESSFFIFrame", None)]
    assert frames[0].rootname == "iexo01abq"


def _ffi(observation, camera, ccd, cadence=4_000_123):
    return tess.TESSFFIFrame(
        observation=observation, cadence=cadence, bitpix=-32, naxis=2,
        naxis_values=[2136, 2078], camera=camera, ccd=ccd, start_btjd=1325.3,
        end_btjd=1325.32, exposure_time=0.0197,
        file_path=f"/data/tess2018206192942-s0001-{camera}-{ccd}-0120-s_ffic.fits")


def test_the_16_ccd_images_of_one_ffi_cadence_are_distinct_frames(session):
    observations = {}
    for camera in range(1, 5):
        for ccd in range(1, 5):
            observations[camera, ccd] = tess.TESSObservation(
                instrument=tess.tess_ccd(session, camera, ccd), sector=1, cadence_seconds=1800)
            session.add(observations[camera, ccd])
    session.add_all(_ffi(obs, camera, ccd) for (camera, ccd), obs in observations.items())
    session.flush()
    frames = session.scalars(sa.select(tess.TESSFFIFrame)).all()
    assert len(frames) == 16 and {fr.cadence for fr in frames} == {4_000_123}
    assert sorted(fr.instrument.path for fr in frames) == sorted(
        f"TESS > Camera {c} > CCD {d}" for c in range(1, 5) for d in range(1, 5))
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.add(_ffi(observations[(2, 3)], 2, 3))     # the same CCD and cadence again
        session.flush()


def test_deleting_a_tess_observation_removes_its_subclass_row(session, backend):
    obs = tess.TESSObservation(instrument=tess.tess_ccd(session, 1, 1), sector=1,
                               cadence_seconds=120)
    session.add(obs)
    session.flush()
    session.execute(sa.delete(Observation).where(Observation.id == obs.id))
    assert session.execute(sa.text("SELECT count(*) FROM tess_observation")).scalar() == 0


# -- missions' time systems and light curves as TimeSeries -----------------------------------

def test_mission_rows_and_time_systems(session):
    mission, catalog = tess.ensure_tess_mission(session)
    assert tess.ensure_tess_mission(session) == (mission, catalog)
    assert catalog.name == "TIC" and mission.to_time(1325.29).jd == pytest.approx(2458325.29)
    hst_mission = hst.ensure_hst_mission(session)
    jwst_mission = jwst.ensure_jwst_mission(session)
    assert hst_mission.to_time(60000.0).mjd == pytest.approx(60000.0)
    assert jwst_mission.to_time(60000.0).scale == "utc"


def test_dataset_to_timeseries(session):
    target, obs = f.TargetFactory(), f.ObservationFactory()
    bjd = 2458325.29 + np.arange(5) * 2 / 1440
    f.TargetSpecificTimeFactory(target=target, observation=obs, barycentric_julian_dates=bjd)
    lc = f.DataSetFactory(target=target, observation=obs, unit="electron / s",
                          values=[10.0, 11.0, np.nan, 12.0, 13.0], errors=[1.0] * 5)
    session.add(tess.TESSQualityFlagArray(observation=obs, target=None,
                                          quality_flags=np.array([0, 32, 0, 0, 0])))
    session.flush()
    series = lc.to_timeseries()
    np.testing.assert_allclose(series.time.jd, bjd, rtol=0, atol=1e-9)
    assert series.time.scale == "tdb"
    assert series["flux"].unit == u.electron / u.s
    assert np.isnan(series["flux"][2].value)
    assert series["flux_err"].value.tolist() == [1.0] * 5
    assert series["quality_mask"].tolist() == [False, True, False, False, False]


def test_timeseries_needs_a_time_axis(session):
    lc = f.DataSetFactory()
    session.flush()
    with pytest.raises(ValueError, match="no TargetSpecificTime"):
        lc.to_timeseries()
