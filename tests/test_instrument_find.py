"""Instrument.find / Instrument.select_path and Mission.register_time_format."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.time import TIME_FORMATS, Time

from lightcurvedb.missions import hst, tess
from lightcurvedb.models import Instrument, Mission, Observation
from lightcurvedb.testing import factories as f

# -- Instrument.find / select_path -----------------------------------------------------------


@pytest.mark.parametrize("path", ["TESS > Camera 3 > CCD 2", "TESS/Camera 3/CCD 2",
                                  " TESS / Camera 3 / CCD 2 ", ("TESS", "Camera 3", "CCD 2")])
def test_find_returns_the_ccd_for_every_spelling_of_its_path(session, path):
    tess.create_tess_instruments(session)
    expected = tess.tess_ccd(session, 3, 2)
    found = Instrument.find(session, path)
    assert found is expected
    assert found.name == "CCD 2" and found.parent.name == "Camera 3"
    assert Instrument.find(session, found.path) is found   # path round-trips


def test_find_a_root_and_a_middle_node(session):
    tess.create_tess_instruments(session)
    hst.hst_detector(session, "WFC3", "UVIS")
    assert Instrument.find(session, "HST").parent is None
    camera = Instrument.find(session, "TESS/Camera 4")
    assert [c.name for c in camera.children] == ["CCD 1", "CCD 2", "CCD 3", "CCD 4"]
    assert Instrument.find(session, "HST > WFC3 > UVIS").path == "HST > WFC3 > UVIS"


def test_a_missing_name_is_one_line_naming_it_and_the_children(session):
    tess.create_tess_instruments(session)
    with pytest.raises(LookupError) as caught:
        Instrument.find(session, "TESS/Camera 1/CCD 7")
    message = str(caught.value)
    assert "\n" not in message
    assert message == ("instrument path 'TESS > Camera 1 > CCD 7': no instrument 'CCD 7' "
                       "under 'TESS > Camera 1' (children: CCD 1, CCD 2, CCD 3, CCD 4)")


def test_a_missing_root_lists_the_roots(session):
    tess.create_tess_instruments(session)
    hst.hst_detector(session, "ACS", "WFC")
    with pytest.raises(LookupError, match=r"no instrument 'Kepler' at the root "
                                          r"\(roots: HST, TESS\)$"):
        Instrument.find(session, "Kepler/CCD 1")


def test_a_leaf_has_no_children_to_list(session):
    tess.create_tess_instruments(session)
    with pytest.raises(LookupError, match=r"under 'TESS > Camera 1 > CCD 1' \(children: none\)"):
        Instrument.find(session, "TESS/Camera 1/CCD 1/Amplifier A")


def test_two_children_of_one_name_are_ambiguous(session):
    root = Instrument(name="Scope", properties={})
    session.add_all([root, Instrument(name="Cam", parent=root, properties={}),
                     Instrument(name="Cam", parent=root, properties={})])
    session.flush()
    with pytest.raises(LookupError, match="2 instruments are named 'Cam' under 'Scope'"):
        Instrument.find(session, "Scope/Cam")


@pytest.mark.parametrize("path", ["", [], "TESS//CCD 1", "TESS > "])
def test_an_empty_path_or_name_is_refused(session, path):
    with pytest.raises(ValueError, match="needs one or more non-empty names"):
        Instrument.find(session, path)
    with pytest.raises(ValueError, match="needs one or more non-empty names"):
        Instrument.select_path(path)


def test_select_path_is_one_statement_matching_find(session):
    tess.create_tess_instruments(session)
    for camera in range(1, 5):
        for ccd in range(1, 5):
            path = f"TESS/Camera {camera}/CCD {ccd}"
            rows = session.scalars(Instrument.select_path(path)).all()
            assert rows == [tess.tess_ccd(session, camera, ccd)]
    assert session.scalars(Instrument.select_path("TESS/Camera 5/CCD 1")).all() == []
    assert session.scalars(Instrument.select_path("Camera 1/CCD 1")).all() == []  # not a root
    assert session.scalar(Instrument.select_path(["TESS"])).parent_id is None


def test_select_path_as_a_subquery_selects_that_ccds_observations(session):
    tess.create_tess_instruments(session)
    wanted = tess.tess_ccd(session, 2, 3)
    other = tess.tess_ccd(session, 2, 4)
    mine = [f.ObservationFactory(instrument=wanted) for _ in range(2)]
    f.ObservationFactory(instrument=other)
    ccd = Instrument.select_path("TESS > Camera 2 > CCD 3").subquery()
    got = session.scalars(sa.select(Observation.id)
                          .where(Observation.instrument_id.in_(sa.select(ccd.c.id)))
                          .order_by(Observation.id)).all()
    assert got == sorted(o.id for o in mine)


# -- Mission.register_time_format ------------------------------------------------------------


def test_register_time_format_reads_stored_btjd(session):
    tess.ensure_tess_mission(session)
    session.expire_all()
    mission = session.scalar(sa.select(Mission).where(Mission.name == "TESS"))
    name = mission.register_time_format()
    assert name == "btjd" and name in TIME_FORMATS
    # BTJD = BJD - 2457000 (TDB): sector 1 starts at BTJD 1325.29.
    t = Time([1325.29, 1353.18], format=name, scale="tdb")
    np.testing.assert_allclose(t.jd, [2458325.29, 2458353.18], rtol=0, atol=1e-9)
    assert mission.register_time_format() == name   # again: same format, no error


def test_register_time_format_of_a_mission_counting_seconds_in_tt(session):
    f.MissionFactory(name="Seconds mission", time_unit="s", time_epoch=51910.0,
                     time_epoch_format="mjd", time_epoch_scale="tt",
                     time_format_name="lcdb_test_met_s")
    session.expire_all()
    mission = session.scalar(sa.select(Mission).where(Mission.name == "Seconds mission"))
    name = mission.register_time_format()
    assert name == "lcdb_test_met_s"
    t = Time(86400.0, format=name, scale="tt")
    assert t.mjd == pytest.approx(51911.0, abs=1e-9)        # one day after MJD 51910 (TT)
    assert Time(51912.0, format="mjd", scale="tt").to_value(name) == pytest.approx(172800.0)


def test_register_time_format_refuses_a_name_astropy_means_otherwise(session):
    mission = f.MissionFactory(time_format_name="unix", time_epoch=2457000.0)
    with pytest.raises(ValueError, match="'unix' is already registered with another meaning"):
        mission.register_time_format()
