"""``lcdb load catalog`` (TARGETIDs into core targets) and ``lcdb catalog validations``."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.io import fits

from cli_support import lcdb
from lightcurvedb import connect
from lightcurvedb.cli import build_parser, main
from lightcurvedb.models import CatalogValidation, Mission, MissionCatalog, Target
from lightcurvedb.testing.fits.catalog import write_fastspec_catalog
from lightcurvedb.testing.fits.desi import write_desi_fibermap_pair

BOTH = pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)


def targetids(path) -> list[int]:
    with fits.open(path, memmap=False) as hdul:
        return np.array(hdul["FASTSPEC"].data["TARGETID"]).tolist()


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_parser():
    args = build_parser().parse_args(["load", "catalog", "a.fits", "dir", "--catalog", "DR1",
                                      "--mission", "DESI"])
    assert (args.paths, args.catalog, args.mission, args.key, args.hdu, args.chunk_rows) == (
        ["a.fits", "dir"], "DR1", "DESI", "TARGETID", 1, 100_000)
    args = build_parser().parse_args(["load", "catalog", "a.fits", "--catalog", "DR1",
                                      "--mission", "DESI", "--hdu", "FASTSPEC",
                                      "--no-progress"])
    assert (args.hdu, args.progress) == ("FASTSPEC", False)
    assert build_parser().parse_args(["load", "catalog", "a.fits", "--mission", "DESI",
                                      "--hdu", "2", "--catalog", "x"]).hdu == 2
    args = build_parser().parse_args(["load", "catalog", "a.fits", "--catalog", "DR1",
                                      "--mission", "DESI"])
    assert (args.existing, args.exposure) == ("reuse", "EXPID")
    args = build_parser().parse_args(["load", "catalog", "a.fits", "--catalog", "DR1",
                                      "--mission", "DESI", "--refuse-existing",
                                      "--no-exposure-column"])
    assert (args.existing, args.exposure) == ("refuse", None)
    assert build_parser().parse_args(["load", "catalog", "a.fits", "--catalog", "DR1",
                                      "--mission", "DESI", "--exposure-column", "expid"]
                                     ).exposure == "expid"


def test_help_and_required_options(env):
    assert re.search(r"(?m)^\s+catalog\b", lcdb(env, "load", "--help").stdout)
    assert lcdb(env, "load", "catalog", "x.fits").returncode == 2  # --catalog, --mission
    assert "validations" in lcdb(env, "catalog", "--help").stdout


@BOTH
def test_load_targets_twice_then_show_reports(empty_database_url, tmp_path, capsys):
    url = empty_database_url.render_as_string(hide_password=False)
    (tmp_path / "vac").mkdir()
    first = write_fastspec_catalog(tmp_path / "vac" / "fastspec-a.fits", 120, seed=1)
    # TARGETIDs depend on the row number only: b's first 120 are a's.
    second = write_fastspec_catalog(tmp_path / "vac" / "fastspec-b.fits", 150, seed=2)
    third = write_fastspec_catalog(tmp_path / "vac" / "fastspec-c.fits", 40, seed=3,
                                   first_targetid=39_627_500_000_000_000)
    status, out, _ = run(capsys, "--url", url, "load", "catalog", str(first),
                         "--catalog", "DESI DR1", "--mission", "DESI", "--no-progress",
                         "--chunk-rows", "50")
    assert status == 0, out
    assert "fastspec-a.fits [FASTSPEC] -> target [catalog_id=" in out
    assert out.rstrip().endswith("1 file: 1 loaded, 0 skipped, 0 failed")

    engine = connect(empty_database_url)
    try:
        with engine.connect() as connection:
            catalog_id, mission = connection.execute(
                sa.select(MissionCatalog.id, Mission.name).join(Mission).where(
                    MissionCatalog.name == "DESI DR1")).one()
            names = connection.scalars(sa.select(Target.name).where(
                Target.catalog_id == catalog_id).order_by(Target.name)).all()
        assert mission == "DESI"
        assert names == sorted(targetids(first))

        # The directory: a is skipped (same bytes), b's first 120 TARGETIDs are a's
        # targets (only its last 30 are new), c is new.
        status, out, _ = run(capsys, "--url", url, "load", "catalog", str(tmp_path / "vac"),
                             "--catalog", "DESI DR1", "--mission", "DESI", "--no-progress")
        assert status == 0, out
        assert "fastspec-a.fits [FASTSPEC] -> target" in out and ": skipped" in out
        assert re.search(r"fastspec-b\.fits \[FASTSPEC\] -> target \[catalog_id=\d+\]: "
                         r"loaded, 30 of 150 rows written", out)
        assert re.search(r"key TARGETID: unique in the file \(0 repeated\); 30 new, 120 "
                         r"existing in target \[catalog_id=\d+\]", out)
        assert out.rstrip().endswith("targets: 70 new, 120 existing\n"
                                     "catalog DESI DR1 targets: 3 files: 2 loaded, 1 skipped, "
                                     "0 failed")
        with engine.connect() as connection:
            names = connection.scalars(sa.select(Target.name).order_by(Target.name)).all()
        assert names == sorted(targetids(second) + targetids(third))
        with engine.connect() as connection:
            outcomes = connection.execute(sa.select(
                CatalogValidation.passed, CatalogValidation.loaded, CatalogValidation.rows_loaded,
                CatalogValidation.existing_keys).order_by(CatalogValidation.id)).all()
        assert [tuple(o) for o in outcomes] == [(True, True, 120, 0), (True, True, 30, 120),
                                                (True, True, 40, 0)]

        # --refuse-existing: today's refusal, nothing written but the report.
        fourth = write_fastspec_catalog(tmp_path / "fastspec-d.fits", 160, seed=4)
        status, out, _ = run(capsys, "--url", url, "load", "catalog", str(fourth),
                             "--catalog", "DESI DR1", "--mission", "DESI", "--no-progress",
                             "--refuse-existing")
        assert status == 1
        assert re.search(r"\n  .*fastspec-d\.fits: 150 key\(s\) of TARGETID are already in "
                         r"target \[catalog_id=\d+\] \(e\.g\. 39627400000000000, ", out), out
        assert out.rstrip().splitlines()[-4:-1] == [
            "targets: 0 new, 0 existing",
            "catalog DESI DR1 targets: 1 file: 0 loaded, 0 skipped, 1 failed", "failed:"]
        with engine.connect() as connection:
            assert connection.scalar(sa.select(sa.func.count()).select_from(Target)) == 190
            assert connection.execute(sa.select(
                CatalogValidation.loaded, CatalogValidation.rows_loaded,
                CatalogValidation.existing_keys).order_by(CatalogValidation.id.desc())
            ).first() == (False, 0, 150)

        status, out, _ = run(capsys, "--url", url, "catalog", "validations", "--failed")
        assert status == 0
        assert "fastspec-d.fits [FASTSPEC] -> target" in out and "refused" in out
        assert "fastspec-a.fits" not in out and "fastspec-b.fits" not in out
        status, out, _ = run(capsys, "--url", url, "catalog", "validations")
        assert out.index("fastspec-d.fits") < out.index("fastspec-c.fits") \
            < out.index("fastspec-b.fits") < out.index("fastspec-a.fits")  # newest first
        assert re.search(r"key TARGETID: unique in the file \(0 repeated\); 30 new, 120 "
                         r"existing in target", out)  # the stored report reads the same
    finally:
        engine.dispose()


def test_catalog_under_another_mission_refused(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    path = write_fastspec_catalog(tmp_path / "fs.fits", 10)
    assert run(capsys, "--url", url, "load", "catalog", str(path), "--catalog", "C",
               "--mission", "DESI", "--no-progress")[0] == 0
    status, _, err = run(capsys, "--url", url, "load", "catalog", str(path), "--catalog", "C",
                         "--mission", "Other", "--no-progress")
    assert status == 1
    assert "catalog 'C' belongs to mission 'DESI', not 'Other'" in err


def test_validations_on_a_database_without_the_table(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    status, out, err = run(capsys, "--url", url, "catalog", "validations")
    assert status == 1 and out == ""
    assert "no catalog_validation table" in err and "lcdb db upgrade" in err


def test_desi_healpix_directory(tmp_path, capsys):
    """A healpix's coadd and spectra FIBERMAPs share every TARGETID; the spectra repeat them."""
    url = f"sqlite:///{tmp_path / 'desi.sqlite3'}"
    pair = write_desi_fibermap_pair(tmp_path / "healpix" / "main" / "dark" / "95" / "9557",
                                    n_targets=12, exposures=3, seed=2)
    status, out, err = run(capsys, "--url", url, "load", "catalog", str(tmp_path / "healpix"),
                           "--catalog", "DESI DR1", "--mission", "DESI", "--hdu", "FIBERMAP",
                           "--no-progress")
    assert status == 0, out + err
    assert "coadd-main-dark-9557.fits [FIBERMAP] -> target [catalog_id=1]: loaded, 12 of 12 " \
           "rows written" in out
    assert f"spectra-main-dark-9557.fits [FIBERMAP] -> target [catalog_id=1]: loaded, 0 of " \
           f"{pair.spectra_rows} rows written" in out
    assert "key TARGETID, EXPID: unique in the file (0 repeated); 0 new, 12 existing in " \
           "target [catalog_id=1]" in out
    assert out.rstrip().endswith("targets: 12 new, 12 existing\n"
                                 "catalog DESI DR1 targets: 2 files: 2 loaded, 0 skipped, "
                                 "0 failed")
    engine = connect(url)
    try:
        with engine.connect() as connection:
            names = connection.scalars(sa.select(Target.name).order_by(Target.name)).all()
    finally:
        engine.dispose()
    assert names == sorted(pair.targetids.tolist())

    status, out, _ = run(capsys, "--url", url, "load", "catalog", str(pair.spectra),
                         "--catalog", "DESI DR2", "--mission", "DESI", "--hdu", "FIBERMAP",
                         "--no-progress", "--no-exposure-column")
    assert status == 1
    assert f"key TARGETID is not unique: {pair.spectra_rows - 12} row(s) repeat an earlier " \
           "key" in out
