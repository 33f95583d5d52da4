"""Missions register themselves: a fresh script that imports only ``lightcurvedb.models`` reads
every row of every polymorphic base class, whatever it imported first.

The suite's own process has imported every mission long before a test runs,
so these tests write a database here and read it in a fresh interpreter
(``registry_support.READ``), on SQLite and PostgreSQL: with everything
installed, whatever is imported first; with the Kepler plugin
(``tests/downstream``) hidden from the interpreter -- a view of site-packages
without it, so nothing is uninstalled from the venv; with a ``kepler`` entry
point whose module fails to import; and with a plugin that uses the ORM while
it is imported.
"""

from __future__ import annotations

import pathlib
from typing import Any

import numpy as np
import pytest
from lcdb_kepler import mission as kepler
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

import lightcurvedb
from lightcurvedb import migrations
from lightcurvedb.missions import hst, jwst, tess
from lightcurvedb.missions._common import cadence_from_mjd
from lightcurvedb.models import (
    DataSet,
    FITSFrame,
    Observation,
    QualityFlagArray,
    Target,
    TargetSpecificTime,
)
from registry_support import fake_plugin, read_in_fresh_interpreter, site_packages_without_kepler

BACKENDS = ("sqlite", "postgresql")
_N = 4  # cadences of every array


def _frame(cls: type[FITSFrame], observation: Observation, cadence: int, **columns: Any
           ) -> FITSFrame:
    return cls(observation=observation, cadence=cadence, bitpix=-32, naxis=2,
               naxis_values=np.array([64, 32], dtype=np.int32),
               file_path=pathlib.Path(f"/data/{cls.__name__}_{cadence}.fits"), **columns)


def _light_curve(session: Session, catalog: Any, name: int, observation: Observation,
                 first_bjd: float) -> None:
    target = Target(catalog=catalog, name=name)
    session.add_all([
        target,
        TargetSpecificTime(target=target, observation=observation,
                           barycentric_julian_dates=first_bjd + 0.1 * np.arange(_N)),
        DataSet(target=target, observation=observation, values=np.linspace(1.0, 1.3, _N)),
    ])


def _write(session: Session) -> None:
    """Rows of TESS, HST, JWST, Kepler and the base classes, in that order of ids."""
    _, tic = tess.ensure_tess_mission(session)
    _, kic = kepler.ensure_kepler_mission(session)
    ifu, nrs1 = jwst.jwst_instrument(session, "NIRSPEC", "NRS_IFU", "NRS1")
    ccd, uvis = tess.tess_ccd(session, 2, 3), hst.hst_detector(session, "WFC3", "UVIS")
    channel_84 = kepler.kepler_output(session, 24, 4)
    observations = [
        tess.TESSObservation(sector=7, cadence_seconds=120, instrument=ccd),
        hst.HSTObservation(program_id=16000, visit_id="01", filter_name="F606W",
                           exposure_time=600.0, detector="UVIS", instrument=uvis),
        jwst.JWSTObservation(program_id=3045, observation_number=1, visit_number=2,
                             grating="G395H", filter_name="F290LP", exposure_time=1000.0,
                             exposure_type="NRS_IFU", instrument=ifu),
        kepler.KeplerObservation(quarter=9, season=1, ccd_module=24, ccd_output=4,
                                 instrument=channel_84),
        Observation(instrument=ifu),
    ]
    session.add_all(observations)
    t, h, j, k, base = observations
    session.add_all([
        _frame(tess.TESSFFIFrame, t, 1, camera=2, ccd=3, start_btjd=1491.6, end_btjd=1491.62,
               exposure_time=0.02),
        _frame(hst.HSTFLCFrame, h, cadence_from_mjd(59000.5), rootname="iexx01abq",
               exposure_start_mjd=59000.5, exposure_time=600.0),
        _frame(jwst.JWSTS3DFrame, j, cadence_from_mjd(59800.25), rootname="jw03045001002",
               exposure_start_mjd=59800.25, exposure_time=1000.0, instrument=nrs1),
        _frame(kepler.KeplerFFIFrame, k, 2, quarter=9, start_bkjd=170.0, end_bkjd=170.02),
        _frame(FITSFrame, base, 3),
    ])
    for cls, observation, words in (
            (tess.TESSQualityFlagArray, t, [0, 32, 128, 1]),
            (hst.HSTQualityFlagArray, h, [0, 4, 32, 0]),
            (jwst.JWSTQualityFlagArray, j, [0, 1, 4, 2]),
            (kepler.KeplerQualityFlagArray, k, [0, 16, 32, 2048]),
            (QualityFlagArray, base, [0, 3, 0, 0])):
        session.add(cls(observation=observation, quality_flags=np.array(words, dtype=np.int64)))
    _light_curve(session, tic, 261136679, t, 2458491.5)
    _light_curve(session, kic, 8462852, k, 2455000.5)


@pytest.fixture(scope="module", params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database holding :func:`_write`'s rows; its URL as a string."""
    if request.param == "sqlite":
        url = URL.create("sqlite", database=str(tmp_path_factory.mktemp("db") / "m.sqlite3"))
    else:
        server = request.getfixturevalue("postgres_server")
        server.create_database("mission_registry")
        request.addfinalizer(lambda: server.drop_database("mission_registry"))
        url = server.url("mission_registry")
    engine = lightcurvedb.connect(url)
    try:
        migrations.upgrade(engine)
        with Session(engine) as session:
            _write(session)
            session.commit()
    finally:
        engine.dispose()
    return url.render_as_string(hide_password=False)


# -- what a fresh interpreter reads --------------------------------------------------------

_F, _T = False, True
OBSERVATIONS = [["TESSObservation", 7, 120, 2, 3], ["HSTObservation", 16000, "F606W", "UVIS"],
                ["JWSTObservation", 3045, 2, "G395H", "NRS_IFU"],
                ["KeplerObservation", 9, 84, "long"], ["Observation"]]
EXPECTED = {
    "observations": OBSERVATIONS,
    "frames": [["TESSFFIFrame", 2, 3, 1491.6], ["HSTFLCFrame", "iexx01abq", "flc"],
               ["JWSTS3DFrame", "jw03045001002", "s3d"], ["KeplerFFIFrame", 9, 170.0],
               ["FITSFrame", 3]],
    "flags": [
        ["TESSQualityFlagArray", [[], ["desaturation"], ["manual_exclude"], ["attitude_tweak"]],
         [_F, _T, _T, _T]],
        ["HSTQualityFlagArray", [[], ["bad_detector_pixel"], ["cte_tail"], []], [_F, _T, _F, _F]],
        ["JWSTQualityFlagArray", [[], ["do_not_use"], ["jump_det"], ["saturated"]],
         [_F, _T, _F, _T]],
        ["KeplerQualityFlagArray",
         [[], ["zero_crossing"], ["desaturation"], ["impulsive_outlier"]], [_F, _F, _T, _F]],
        ["QualityFlagArray", [[], ["bit_1", "bit_2"], [], []], [_F, _F, _F, _F]],
    ],
    "not_kepler": [row for row in OBSERVATIONS if row[0] != "KeplerObservation"],
    "light_curve_261136679": ["TESSObservation", ["TESSQualityFlagArray"], ["TESSFFIFrame"],
                              ["TESSObservation"], [0, 32, 128, 1], [_F, _T, _T, _T],
                              2458491.5],
    "light_curve_8462852": ["KeplerObservation", ["KeplerQualityFlagArray"], ["KeplerFFIFrame"],
                            ["KeplerObservation"], [0, 16, 32, 2048], [_F, _F, _T, _F],
                            2455000.5],
}
MISSION_MODULES = ["lcdb_kepler", "lcdb_kepler.mission", "lightcurvedb.missions",
                   "lightcurvedb.missions._common", "lightcurvedb.missions.hst",
                   "lightcurvedb.missions.jwst", "lightcurvedb.missions.registry",
                   "lightcurvedb.missions.tess"]


def _reads(out: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in out.items() if key in EXPECTED}


def test_a_script_importing_only_the_models_reads_every_mission(database, tmp_path):
    out = read_in_fresh_interpreter(database, tmp_path)
    assert out["before"] == []  # importing lightcurvedb.models imported no mission
    assert _reads(out) == EXPECTED
    assert out["after"] == MISSION_MODULES
    assert out["warnings"] == []


@pytest.mark.parametrize("prelude", [
    "import lightcurvedb.missions.tess",
    "import lcdb_kepler.mission",
    "from sqlalchemy.orm import configure_mappers\nconfigure_mappers()",
    "import lightcurvedb.models, sqlalchemy.orm\nsqlalchemy.orm.configure_mappers()",
], ids=["tess-first", "plugin-first", "configure-before-import", "configure-explicitly"])
def test_import_order_does_not_matter(database, tmp_path, prelude):
    out = read_in_fresh_interpreter(database, tmp_path, prelude)
    assert _reads(out) == EXPECTED
    assert out["after"] == MISSION_MODULES


def broken_plugin(tmp_path: pathlib.Path, entry_point: str) -> pathlib.Path:
    """``lcdb-kepler-broken``, whose mission module needs a package that is not installed."""
    return fake_plugin(tmp_path, "lcdb-kepler-broken", entry_point,
                       "import kplr_no_such_dependency\n")


# -- a plugin that is not installed, or does not import ------------------------------------

def _unknown(table: str, identity: str, base: str, known: str, hint: str) -> list[str]:
    return ["UnknownPolymorphicIdentityError",
            f"{table} row has polymorphic identity {identity!r}, which no loaded {base} class "
            f"defines (known: {known}); {hint}; to read the other rows, add "
            f".where({base}.type != {identity!r})"]


def _install_hint(mission: str) -> str:
    return ("install the mission package that wrote it (by lightcurvedb's naming convention, "
            f"the one whose 'lightcurvedb.missions' entry point is {mission!r})")


def _expected_without_kepler(hint: str) -> dict[str, Any]:
    observation = _unknown("observation", "kepler_observation", "Observation",
                           "hst_observation, jwst_observation, observation, tess_observation",
                           hint)
    return {
        **EXPECTED,
        "observations": observation,
        "frames": _unknown("fits_frame", "kepler_ffi", "FITSFrame",
                           "basefits, hst_drc, hst_flc, hst_frame, jwst_cal, jwst_frame, "
                           "jwst_s3d, jwst_x1d, tess_ffi", hint),
        "flags": _unknown("quality_flag_array", "kepler_quality_flag", "QualityFlagArray",
                          "base_quality_flag, hst_quality_flag, jwst_quality_flag, "
                          "tess_quality_flag", hint),
        # lc.observation is where it fails: no light curve with an unnamed quality mask.
        "light_curve_8462852": observation,
    }


def test_rows_of_a_plugin_that_is_not_installed_raise_one_clear_error(database, tmp_path):
    hidden = site_packages_without_kepler(tmp_path)
    out = read_in_fresh_interpreter(database, tmp_path, replace=hidden)
    assert not any(name.startswith("lcdb_kepler") for name in out["after"])
    assert _reads(out) == _expected_without_kepler(_install_hint("kepler"))
    assert out["warnings"] == []


_FAILURE = ("mission plugin 'kepler' (lcdb_kepler_broken.mission, from lcdb-kepler-broken)",
            "ModuleNotFoundError: No module named 'kplr_no_such_dependency'")


def test_a_plugin_that_fails_to_import_is_named_in_the_error(database, tmp_path):
    hidden = site_packages_without_kepler(tmp_path)
    out = read_in_fresh_interpreter(database, tmp_path, replace=hidden,
                                    path=(broken_plugin(tmp_path, "kepler"),))
    plugin, reason = _FAILURE
    assert out["warnings"] == [
        ["PluginWarning", f"{plugin} failed to import: {reason}; its rows cannot be loaded"]]
    hint = f"the {plugin} that by convention defines it is installed but failed to import: {reason}"
    assert _reads(out) == _expected_without_kepler(hint)


def test_a_broken_plugin_leaves_the_others_working(database, tmp_path):
    out = read_in_fresh_interpreter(database, tmp_path, path=(broken_plugin(tmp_path, "k2"),))
    assert _reads(out) == EXPECTED
    assert [message for _, message in out["warnings"]] == [
        "mission plugin 'k2' (lcdb_kepler_broken.mission, from lcdb-kepler-broken) failed to "
        f"import: {_FAILURE[1]}; its rows cannot be loaded"]


#: A plugin that configures the mappers while it is imported (so, when
#: lightcurvedb imports it, during their configuration) and then defines a class.
REENTRANT = """
from sqlalchemy.orm import configure_mappers
from lightcurvedb.models import QualityFlagArray

configure_mappers()


class K2QualityFlagArray(QualityFlagArray):
    __mapper_args__ = {"polymorphic_identity": "k2_quality_flag"}
"""

#: Writes a K2 row, prints the classes of every flag array read back, rolls back.
K2_ROW = """
import json
from sqlalchemy import inspect, select
from lightcurvedb.models import Observation, QualityFlagArray
with lightcurvedb.session(sys.argv[1]) as s:
    tess = s.scalar(select(Observation.id).where(Observation.type == "tess_observation"))
    k2 = inspect(QualityFlagArray).polymorphic_map["k2_quality_flag"].class_
    s.add(k2(observation_id=tess, quality_flags=[0, 1, 0, 0]))
    s.flush()
    s.expunge_all()
    flags = s.scalars(select(QualityFlagArray).order_by(QualityFlagArray.id))
    print(json.dumps([type(f).__name__ for f in flags]))
    s.rollback()
"""


@pytest.mark.parametrize("first", ["", "import lcdb_k2_example.mission"],
                         ids=["imported-by-lightcurvedb", "imported-first"])
def test_a_plugin_may_configure_the_mappers_while_it_is_imported(database, tmp_path, first):
    plugin = fake_plugin(tmp_path, "lcdb-k2-example", "k2", REENTRANT)
    flags = read_in_fresh_interpreter(database, tmp_path, first, path=(plugin,), script=K2_ROW)
    assert flags == [row[0] for row in EXPECTED["flags"]] + ["K2QualityFlagArray"]
