"""Every ``lcdb radio`` command on the pipeline's four files, and how the layout is chosen.

The commands run through :func:`lightcurvedb.cli.main` with argv, in an
environment without any lightcurvedb setting (HOME and the XDG directories in
the test's directory). What they print and what the files then hold (read
with :mod:`sqlite3`, as the pipeline reads them) are checked.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3

import pytest

from lightcurvedb import migrations
from lightcurvedb.cli import main
from lightcurvedb.radio import products_service
from lightcurvedb.radio.binding import radio_session, state_databases
from lightcurvedb.testing import radio_ddl
from lightcurvedb.testing.fits.radio import write_radio_image

GROUP = "2025-10-24T12:00:00"
STEADY, SCINTILLATING = "NVSS J123456.7+420312", "NVSS J123501.2+415907"
STEADY_JY = [0.100, 0.101, 0.099, 0.100, 0.102, 0.100]
SCINTILLATING_JY = [0.100, 0.118, 0.160, 0.141, 0.112, 0.101]
CATALOG = """source_id,ra_deg,dec_deg,s_nvss_mjy,snr_nvss
NVSS J123456.7+420312,188.7363,42.0533,121.0,40.0
NVSS J123501.2+415907,188.7550,41.9853,100.0,12.0
NVSS J000000.0+000000,0.0,0.0,10.0,7.5
"""


@pytest.fixture
def clean(tmp_path, monkeypatch):
    """No lightcurvedb setting: HOME and XDG directories under tmp_path."""
    for name in list(os.environ):
        if name.startswith("LIGHTCURVEDB_"):
            monkeypatch.delenv(name)
    for name, variable in (("home", "HOME"), ("config", "XDG_CONFIG_HOME"),
                           ("data", "XDG_DATA_HOME")):
        (tmp_path / name).mkdir()
        monkeypatch.setenv(variable, str(tmp_path / name))
    return tmp_path


@pytest.fixture
def state(clean):
    """The pipeline's four files, made by its DDL, in ``state/``."""
    directory = clean / "state"
    radio_ddl.create_pipeline_databases(directory)
    return directory


def run(capsys, *argv):
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def raw(path, sql):
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        return connection.execute(sql).fetchall()


def schemas(directory):
    return {name: raw(directory / name, "SELECT type, name, sql FROM sqlite_master ORDER BY name")
            for name in radio_ddl.DATABASE_FILES.values()}


def dumps(directory):
    out = {}
    for name in radio_ddl.DATABASE_FILES.values():
        with contextlib.closing(sqlite3.connect(f"file:{directory / name}?mode=ro",
                                                uri=True)) as connection:
            out[name] = list(connection.iterdump())
    return out


def add_photometry(directory, image):
    """Forced photometry of six epochs on the registered image (no command writes it)."""
    rows = [{"image_path": str(image), "source_id": source, "ra_deg": ra, "dec_deg": dec,
             "nvss_flux_mjy": 100.0, "peak_jyb": flux, "peak_err_jyb": 0.002,
             "mjd": 60972.5 + epoch}
            for epoch, (steady, scint) in enumerate(zip(STEADY_JY, SCINTILLATING_JY,
                                                        strict=True))
            for source, ra, dec, flux in ((STEADY, 188.7363, 42.0533, steady),
                                          (SCINTILLATING, 188.7550, 41.9853, scint))]
    with radio_session(state_databases(directory)) as session:
        products_service.record_photometry(session, rows)
        session.commit()
        for engine in {session.get_bind(products_service.Photometry)}:
            engine.dispose()


def test_every_radio_command_on_the_four_files(state, clean, capsys):
    before = schemas(state)
    ingest, products = state / "ingest.sqlite3", state / "products.sqlite3"
    cal_registry = state / "cal_registry.sqlite3"
    master = state / "catalogs" / "master_sources.sqlite3"
    files = []
    for index in range(2):
        path = clean / f"{GROUP}_sb{index:02d}.hdf5"
        path.write_bytes(b"x" * (index + 1))
        files.append(path)

    # queue: register, claim, fail, retry, claim, complete, status
    assert run(capsys, "radio", "--state", state, "queue", "register", *files,
               "--expected-subbands", "2") == (
        0, f"{GROUP} sb00: 1/2 subbands, collecting\n{GROUP} sb01: 2/2 subbands, pending\n", "")
    assert raw(ingest, "SELECT group_id, state, expected_subbands FROM ingest_queue") == [
        (GROUP, "pending", 2)]
    assert raw(ingest, "SELECT subband_idx, file_size FROM subband_files ORDER BY 1") == [
        (0, 1), (1, 2)]
    status, out, _ = run(capsys, "radio", "queue", "claim", "--state", state)
    assert (status, out.splitlines()) == (0, [GROUP, *(f"  {path}" for path in files)])
    assert run(capsys, "radio", "queue", "fail", GROUP, "gaincal: no solutions",
               "--state", state) == (0, f"{GROUP}: failed\n", "")
    assert raw(ingest, "SELECT state, error_message FROM ingest_queue") == [
        ("failed", "gaincal: no solutions")]
    assert run(capsys, "radio", "--state", state, "queue", "retry", GROUP) == (
        0, f"{GROUP}: pending\n", "")
    assert raw(ingest, "SELECT state, retry_count FROM ingest_queue") == [("pending", 1)]
    assert run(capsys, "radio", "--state", state, "queue", "claim")[1].splitlines()[0] == GROUP
    assert run(capsys, "radio", "--state", state, "queue", "complete", GROUP) == (
        0, f"{GROUP}: completed\n", "")
    status, out, _ = run(capsys, "radio", "--state", state, "queue", "status")
    assert (status, out.split()) == (0, ["collecting", "0", "pending", "0", "in_progress", "0",
                                         "completed", "1", "failed", "0"])
    assert raw(ingest, "SELECT state, retry_count, error_message FROM ingest_queue") == [
        ("completed", 1, None)]

    # calibration: register a set, the tables active at an MJD
    tables = {kind: clean / f"60972.{kind}" for kind in ("K", "BP", "G")}
    status, out, _ = run(capsys, "radio", "--state", state, "cal", "register", "bp_60972",
                         *(f"{kind}={path}" for kind, path in tables.items()),
                         "--start", "60972", "--end", "60973")
    assert (status, out.splitlines()) == (0, [f"0 K  {tables['K']}", f"1 BP {tables['BP']}",
                                              f"2 G  {tables['G']}"])
    assert raw(cal_registry, "SELECT table_type, valid_start_mjd, valid_end_mjd, active "
                             "FROM caltables ORDER BY order_index") == [
        ("K", 60972.0, 60973.0, 1), ("BP", 60972.0, 60973.0, 1), ("G", 60972.0, 60973.0, 1)]
    status, out, _ = run(capsys, "radio", "--state", state, "cal", "active", "60972.5",
                         "--require-all")
    assert (status, [line.split()[:3] for line in out.splitlines()]) == (
        0, [["0", "K", str(tables["K"])], ["1", "BP", str(tables["BP"])],
            ["2", "G", str(tables["G"])]])

    # products: an MS stage, an image
    ms = clean / f"{GROUP}.ms"
    assert run(capsys, "radio", "--state", state, "ms", "stage", ms, "imaged", "--field",
               "J1234+42", "--start-mjd", "60972.4965", "--end-mjd", "60972.5035") == (
        0, f"{ms}: imaged (ok)\n", "")
    assert raw(products, "SELECT path, stage, status, field_name, mid_mjd FROM ms_index") == [
        (str(ms), "imaged", "ok", "J1234+42", pytest.approx(60972.5))]
    image = write_radio_image(clean / "epoch0-image.fits", ra=188.73, dec=42.05,
                              bmaj_deg=15 / 3600, bmin_deg=10 / 3600, bpa_deg=30.0,
                              noise_jy=0.0005, nx=64, ny=64, seed=0)
    status, out, _ = run(capsys, "radio", "--state", state, "image", "register", "--ms", ms,
                         image)
    assert status == 0 and out.startswith(f'{image}: 64x64, beam 15.0" x 10.0", noise ')
    assert raw(products, "SELECT path, ms_path, imsize_x, beam_major_arcsec FROM images") == [
        (str(image), str(ms), 64, pytest.approx(15.0))]

    # variability, ESE candidates
    add_photometry(state, image)
    assert run(capsys, "radio", "--state", state, "variability", "update") == (
        0, "variability statistics updated for 2 sources\n", "")
    assert raw(products, "SELECT source_id, n_obs FROM variability_stats ORDER BY 1") == [
        (STEADY, 6), (SCINTILLATING, 6)]
    assert run(capsys, "radio", "--state", state, "variability", "update", "--source",
               STEADY)[1] == "variability statistics updated for 1 source\n"
    status, out, _ = run(capsys, "radio", "--state", state, "ese", "flag", "--chi2", "8")
    lines = out.splitlines()
    assert (status, lines[0].split("\t")[:2], lines[1]) == (
        0, [SCINTILLATING, "variability"], "1 new ESE candidate")
    assert raw(products, "SELECT source_id, flag_type, status FROM ese_candidates") == [
        (SCINTILLATING, "variability", "active")]

    # master sources: load, cone search
    catalog = clean / "master.csv"
    catalog.write_text(CATALOG)
    assert run(capsys, "radio", "--state", state, "sources", "load", catalog) == (
        0, f"{catalog}: 3 master sources loaded\n", "")
    assert raw(master, "SELECT source_id, s_nvss FROM sources ORDER BY 1") == [
        ("NVSS J000000.0+000000", 0.01), (STEADY, 0.121), (SCINTILLATING, 0.1)]
    status, out, _ = run(capsys, "radio", "--state", state, "sources", "cone", "188.74",
                         "42.0", "0.1")
    assert (status, [line.split("\t")[0] for line in out.splitlines()]) == (
        0, ["source_id", SCINTILLATING, STEADY, "2 sources within 0.1 deg"])

    # a light curve: written to the core database, not to the pipeline's files
    written = dumps(state)
    core = clean / "core.sqlite3"
    assert run(capsys, "--url", f"sqlite:///{core}", "radio", "--state", state, "sources",
               "lightcurve", SCINTILLATING) == (
        0, f"{SCINTILLATING}: light curve 1 (6 points, mJy / beam)\n", "")
    assert raw(core, "SELECT t.designation, d.unit FROM dataset d JOIN target t "
                     "ON t.id = d.target_id") == [(SCINTILLATING, "mJy / beam")]
    assert dumps(state) == written

    # Nothing was migrated or created in the pipeline's files.
    assert schemas(state) == before
    assert sorted(p.relative_to(state).as_posix() for p in state.rglob("*.sqlite3")) == sorted(
        radio_ddl.DATABASE_FILES.values())


def test_light_curve_core_database_by_default(state, clean, capsys):
    """Without --url the core database is lightcurvedb's default one, migrated."""
    image = write_radio_image(clean / "img.fits", ra=188.73, dec=42.05, bmaj_deg=15 / 3600,
                              bmin_deg=10 / 3600, bpa_deg=30.0, noise_jy=0.0005, nx=32, ny=32)
    with radio_session(state_databases(state)) as session:
        products_service.record_ms_stage(session, clean / "a.ms", "imaged")
        products_service.register_image(session, image, ms_path=clean / "a.ms")
        session.commit()
        session.get_bind(products_service.Image).dispose()
    add_photometry(state, image)
    assert run(capsys, "radio", "sources", "lightcurve", STEADY, "--state", state) == (
        0, f"{STEADY}: light curve 1 (6 points, mJy / beam)\n", "")
    default = clean / "data" / "lightcurvedb" / "lightcurvedb.sqlite3"
    assert raw(default, "SELECT designation FROM target") == [(STEADY,)]
    status, _, err = run(capsys, "--url", f"sqlite:///{state / 'products.sqlite3'}", "radio",
                         "--state", state, "sources", "lightcurve", STEADY)
    assert (status, err) == (1, "lcdb: error: the core lightcurvedb database is the "
                                f"pipeline's products database ({state / 'products.sqlite3'}); "
                                "give --url another database for the core tables\n")


def test_missing_files_are_refused_not_created(state, clean, capsys):
    before = schemas(state)
    (state / "products.sqlite3").unlink()
    for argv in (("radio", "--state", state, "queue", "status"),
                 ("radio", "sources", "cone", "1", "1", "1", "--state", state),
                 ("db", "repoint", "/a", "/b", "--state", state)):
        status, out, err = run(capsys, *argv)
        assert (status, out) == (1, "")
        assert err == (f"lcdb: error: DSA-110 state directory {state} lacks products.sqlite3 "
                       "(the pipeline creates them; nothing was created)\n")
        assert not (state / "products.sqlite3").exists()
    status, _, err = run(capsys, "radio", "--state", clean / "nowhere", "queue", "status")
    assert (status, err) == (1, f"lcdb: error: {clean / 'nowhere'}: no such DSA-110 state "
                                "directory\n")
    assert not (clean / "nowhere").exists()
    del before["products.sqlite3"]
    assert {name: raw(state / name, "SELECT type, name, sql FROM sqlite_master ORDER BY name")
            for name in before} == before


# -- which layout: --state, --url, LIGHTCURVEDB_RADIO_STATE, LIGHTCURVEDB_URL, db.conf ------

def pending(capsys, *argv):
    status, out, err = run(capsys, *argv, "radio", "queue", "status")
    assert status == 0, err
    return int(out.split()[3])


def add_pending_group(path):
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("INSERT INTO ingest_queue (group_id, state, received_at, "
                           "last_update) VALUES (?, 'pending', 0, 0)", (GROUP,))
        connection.commit()


def test_layout_precedence(state, clean, capsys, monkeypatch):
    add_pending_group(state / "ingest.sqlite3")          # the four files: one pending group
    one = clean / "one.sqlite3"
    url = f"sqlite:///{one}"
    assert pending(capsys, "--url", url) == 0              # --url: one database, migrated
    assert raw(one, "SELECT count(*) FROM alembic_version") == [(len(migrations.heads()),)]
    monkeypatch.setenv("LIGHTCURVEDB_RADIO_STATE", str(state))
    assert pending(capsys) == 1                            # the environment's state directory
    assert pending(capsys, "--url", url) == 0              # the command line wins
    monkeypatch.setenv("LIGHTCURVEDB_URL", url)
    assert pending(capsys) == 1                            # state beats URL at the same level
    other = clean / "other"
    radio_ddl.create_pipeline_databases(other)
    status, out, _ = run(capsys, "radio", "--state", other, "queue", "status")
    assert (status, int(out.split()[3])) == (0, 0)         # --state beats the environment
    monkeypatch.delenv("LIGHTCURVEDB_RADIO_STATE")
    conf = clean / "config" / "lightcurvedb" / "db.conf"
    conf.parent.mkdir()
    conf.write_text(f"[Radio]\nstate = {state}\n")
    assert pending(capsys) == 0                            # LIGHTCURVEDB_URL beats db.conf
    monkeypatch.delenv("LIGHTCURVEDB_URL")
    assert pending(capsys) == 1                            # db.conf [Radio]
    # a group's URL replaces the state directory's file
    conf.write_text(f"[Radio]\nstate = {state}\ningest = sqlite:///{other}/ingest.sqlite3\n")
    assert pending(capsys) == 0
    conf.write_text("".join(f"{group} = sqlite:///{state}/{name}\n" for group, name in
                            radio_ddl.DATABASE_FILES.items()).join(("[Radio]\n", "")))
    assert pending(capsys) == 1
    # db.conf with only [Radio]: the core database is still the default file
    assert run(capsys, "db", "current")[0] == 0
    assert (clean / "data" / "lightcurvedb" / "lightcurvedb.sqlite3").exists()


@pytest.mark.parametrize(("text", "message"), [
    ("[Radio]\nstate = relative/dir\n", "[Radio] state must be an absolute directory, got "
                                        "'relative/dir'"),
    ("[Radio]\nstat = /x\n", "unknown key(s) in [Radio]: stat; expected state, ingest, "
                             "cal_registry, products, master_sources"),
    ("[Radio]\ningest = sqlite:////nowhere/ingest.sqlite3\n",
     "[Radio] ingest: /nowhere/ingest.sqlite3 does not exist (the pipeline creates it; "
     "nothing was created)"),
    ("[Radio]\nproducts = ::nonsense\n", "[Radio] products: cannot parse database URL "
                                         "'::nonsense'"),
])
def test_bad_radio_sections_name_the_file(clean, capsys, text, message):
    conf = clean / "config" / "lightcurvedb" / "db.conf"
    conf.parent.mkdir()
    conf.write_text(text)
    status, out, err = run(capsys, "radio", "queue", "status")
    assert (status, out, err.count("\n")) == (1, "", 1)
    assert err.startswith(f"lcdb: error: {conf}: {message}")


def test_radio_section_must_name_every_group(state, clean, capsys):
    conf = clean / "config" / "lightcurvedb" / "db.conf"
    conf.parent.mkdir()
    conf.write_text(f"[Radio]\ningest = sqlite:///{state}/ingest.sqlite3\n")
    status, _, err = run(capsys, "radio", "queue", "status")
    assert (status, err) == (1, f"lcdb: error: {conf}: [Radio] names no database for "
                                "cal_registry, products, master_sources: give state = DIR, or "
                                "a URL for each of ingest, cal_registry, products, "
                                "master_sources\n")
    conf.write_text(f"[Radio]\nstate = {state / 'missing'}\n")
    status, _, err = run(capsys, "radio", "queue", "status")
    assert (status, err) == (1, f"lcdb: error: {conf}: [Radio] state: {state / 'missing'}: no "
                                "such DSA-110 state directory\n")


def test_env_state_is_checked_too(clean, capsys, monkeypatch):
    monkeypatch.setenv("LIGHTCURVEDB_RADIO_STATE", str(clean / "gone"))
    status, _, err = run(capsys, "radio", "queue", "status")
    assert (status, err) == (1, f"lcdb: error: LIGHTCURVEDB_RADIO_STATE: {clean / 'gone'}: no "
                                "such DSA-110 state directory\n")


# -- lcdb db repoint --state DIR -------------------------------------------------------------

def test_repoint_with_the_state_directory(state, clean, capsys):
    with contextlib.closing(sqlite3.connect(state / "products.sqlite3")) as connection:
        connection.execute("INSERT INTO ms_index (path) VALUES ('/data/a/x.ms')")
        connection.commit()
    with contextlib.closing(sqlite3.connect(state / "cal_registry.sqlite3")) as connection:
        connection.execute("INSERT INTO caltables (set_name, path, table_type, order_index, "
                           "valid_start_mjd, valid_end_mjd, created_at) VALUES "
                           "('k', '/data/a/x.K', 'K', 0, 1, 2, 0)")
        connection.commit()
    core = f"sqlite:///{clean / 'core.sqlite3'}"
    assert run(capsys, "--url", core, "db", "repoint", "/data/a", "/data/b", "--dry-run",
               "--state", state) == (
        0, "radio.caltables.path: 1\nradio.ms_index.path: 1\n"
           "dry run: 2 paths would be re-pointed; nothing was written\n", "")
    assert run(capsys, "--url", core, "db", "repoint", "/data/a", "/data/b",
               "--state", state)[1].splitlines()[-1] == "2 paths re-pointed to /data/b"
    assert raw(state / "products.sqlite3", "SELECT path FROM ms_index") == [("/data/b/x.ms",)]
    assert raw(state / "cal_registry.sqlite3", "SELECT path FROM caltables") == [
        ("/data/b/x.K",)]
    assert run(capsys, "--url", core, "db", "repoint", "/data/a", "/data/b",
               "--state", state)[1] == "no stored path under /data/a\n"
    # --radio replaces one group's file: here products elsewhere, where nothing matches.
    elsewhere = clean / "elsewhere"
    radio_ddl.create_pipeline_databases(elsewhere)
    assert run(capsys, "--url", core, "db", "repoint", "/data/b", "/data/c", "--state", state,
               f"--radio=products=sqlite:///{elsewhere / 'products.sqlite3'}")[1].splitlines() == [
        "radio.caltables.path: 1", "1 paths re-pointed to /data/c"]
    assert raw(state / "products.sqlite3", "SELECT path FROM ms_index") == [("/data/b/x.ms",)]


def test_refusals_and_reruns_on_the_four_files(state, clean, capsys):
    args = ("radio", "--state", state)
    assert run(capsys, *args, "cal", "register", "g1", "G=/cal/g1", "--start", "60972",
               "--end", "60973")[0] == 0
    ms = clean / "a.ms"
    assert run(capsys, *args, "ms", "stage", ms, "imaged")[0] == 0
    catalog = clean / "master.csv"
    catalog.write_text(CATALOG)
    assert run(capsys, *args, "sources", "load", catalog)[0] == 0
    written = dumps(state)
    bad = clean / "bad.csv"
    bad.write_text(CATALOG.replace("42.0533", "95.0"))
    image = write_radio_image(clean / "img.fits", ra=1.0, dec=1.0, bmaj_deg=0.004,
                              bmin_deg=0.003, bpa_deg=0.0, noise_jy=0.001, nx=32, ny=32)
    for argv, message in (
            (("cal", "register", "g2", "G=/cal/g2", "--start", "60972.5", "--end", "60974"),
             "validity window [60972.5, 60974.0) overlaps active table(s): G /cal/g1 (set g1, "
             "[60972.0, 60973.0))"),
            (("queue", "complete", GROUP), f"no observation group '{GROUP}' in the ingest "
                                           "queue"),
            (("image", "register", "--ms", clean / "other.ms", image),
             f"Measurement Set '{clean / 'other.ms'}' is not in ms_index"),
            (("sources", "load", bad), f"{bad}: Dec missing or outside [-90, 90] (row 1)"),
            (("ms", "stage", ms, "converted"), f"{ms} is already imaged; refusing to go back "
                                               "to converted")):
        status, out, err = run(capsys, *args, *argv)
        assert (status, out, err.count("\n")) == (1, "", 1), argv
        assert err.startswith("lcdb: error: ") and message in err, (argv, err)
        assert dumps(state) == written, argv               # nothing half written
    # Running a command again changes nothing.
    assert run(capsys, *args, "sources", "load", catalog)[0] == 0
    assert run(capsys, *args, "variability", "update")[1] == (
        "variability statistics updated for 0 sources\n")
    assert run(capsys, *args, "ese", "flag")[1] == "0 new ESE candidates\n"
    assert dumps(state) == written
