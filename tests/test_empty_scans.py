"""A directory scan that finds nothing says what it looked for and where, and fails.

It used to report "0 files: 0 loaded, 0 skipped, 0 failed" and exit 0 -- a
mistyped directory or a directory of other products looked like success.
"""

from __future__ import annotations

import pathlib

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import URL

from cli_support import lcdb
from lightcurvedb.loaders import LoaderError
from lightcurvedb.loaders.catalog_targets import load_catalog_targets
from lightcurvedb.loaders.rbh1 import load_rbh1_directory
from lightcurvedb.loaders.report import NoFilesFound, find_files
from lightcurvedb.loaders.tess import SPOC_PATTERNS, load_lightcurves
from lightcurvedb.models import Mission, Target
from lightcurvedb.rbh1 import PipelineRun
from lightcurvedb.testing.fits import write_kepler_lightcurve, write_spoc_lightcurve

SPOC = ("*_lc.fits, *_lc.fits.gz, *_lc.fits.bz2, *_fast-lc.fits, *_fast-lc.fits.gz, "
        "*_fast-lc.fits.bz2")


@pytest.fixture
def empty(tmp_path: pathlib.Path) -> pathlib.Path:
    directory = tmp_path / "s1"
    directory.mkdir()
    return directory


def test_an_empty_directory_raises_naming_patterns_and_place(empty):
    with pytest.raises(NoFilesFound) as raised:
        find_files(empty, SPOC_PATTERNS)
    assert str(raised.value) == f"no files matching {SPOC} under {empty} (no files there)"
    assert isinstance(raised.value, LoaderError) and isinstance(raised.value, ValueError)
    assert (raised.value.directories, raised.value.patterns) == ([empty], SPOC_PATTERNS)
    assert raised.value.path == empty


def test_other_files_are_mentioned(empty):
    (empty / "deeper").mkdir()
    (empty / "deeper" / "a_tp.fits").write_bytes(b"")
    (empty / "notes.txt").write_text("x")
    with pytest.raises(NoFilesFound) as raised:
        find_files(empty, SPOC_PATTERNS)
    assert str(raised.value).endswith(f"(other files there, e.g. {empty}/deeper/a_tp.fits)")


def test_one_empty_directory_among_others_fails_the_scan(empty, tmp_path):
    full = tmp_path / "s2"
    full.mkdir()
    good = write_spoc_lightcurve(full, tic_id=1, sector=2, camera=1, ccd=1, n_cadences=20)
    assert find_files(full, SPOC_PATTERNS) == [good]
    with pytest.raises(NoFilesFound) as raised:
        find_files([full, empty], SPOC_PATTERNS)
    assert raised.value.directories == [empty]
    assert str(raised.value).endswith(f"under {empty} (no files there)")
    other = tmp_path / "s3"
    other.mkdir()
    with pytest.raises(NoFilesFound, match=f"under {empty} and {other} "):
        find_files([empty, full, other], SPOC_PATTERNS)


def test_files_named_explicitly_are_passed_through(tmp_path):
    missing = tmp_path / "absent_lc.fits"
    odd = tmp_path / "renamed.fits"
    odd.write_bytes(b"")
    assert find_files([missing, odd, missing], SPOC_PATTERNS) == [missing, odd]
    assert find_files([], SPOC_PATTERNS) == []


def test_the_loaders_raise_before_writing_anything(session, empty):
    before = {model: session.scalar(select(func.count()).select_from(model))
              for model in (Mission, Target, PipelineRun)}
    with pytest.raises(NoFilesFound) as raised:
        load_lightcurves(session, [empty], progress=False)
    assert str(raised.value) == f"no files matching {SPOC} under {empty} (no files there)"
    with pytest.raises(NoFilesFound, match=r"^no files matching \*\.fits, \*\.fits\.gz, "
                                           r"\*\.fits\.bz2, \*\.fits\.fz under "):
        load_rbh1_directory(session, empty, progress=False)
    with pytest.raises(NoFilesFound, match=r"^no files matching \*\.fits, \*\.fits\.gz, "
                                           r"\*\.fits\.bz2 under "):
        load_catalog_targets(session, empty, catalog="DESI DR1", mission="DESI")
    session.rollback()
    assert {model: session.scalar(select(func.count()).select_from(model))
            for model in before} == before        # no stage rows, targets or missions


# -- the command line ---------------------------------------------------------------------------

def _url(tmp_path: pathlib.Path) -> tuple[pathlib.Path, str]:
    database = tmp_path / "cli.sqlite3"
    return database, str(URL.create("sqlite", database=str(database)))


@pytest.mark.parametrize(("command", "patterns"), [
    (["load", "tess"], SPOC),
    (["load", "rbh1"], "*.fits, *.fits.gz, *.fits.bz2, *.fits.fz"),
])
def test_lcdb_load_fails_on_an_empty_directory_before_migrating(env, tmp_path, empty, command,
                                                                 patterns):
    database, url = _url(tmp_path)
    result = lcdb(env, "--url", url, *command, str(empty))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (f"lcdb: error: no files matching {patterns} under {empty} "
                             "(no files there)\n")
    assert not database.exists()                   # nothing migrated, nothing created


def test_lcdb_load_catalog_fails_on_an_empty_directory(env, tmp_path, empty):
    _, url = _url(tmp_path)
    result = lcdb(env, "--url", url, "load", "catalog", str(empty), "--catalog", "DESI DR1",
                  "--mission", "DESI", "--no-progress")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (f"lcdb: error: no files matching *.fits, *.fits.gz, *.fits.bz2 "
                             f"under {empty} (no files there)\n")


def test_lcdb_load_tess_on_a_kepler_directory(env, tmp_path, empty):
    kepler = write_kepler_lightcurve(empty)
    _, url = _url(tmp_path)
    scanned = lcdb(env, "--url", url, "load", "tess", str(empty))
    assert scanned.returncode == 1
    assert scanned.stderr == (f"lcdb: error: no files matching {SPOC} under {empty} (other "
                              f"files there, e.g. {kepler})\n")
    named = lcdb(env, "--url", url, "load", "tess", "--no-progress", str(kepler))
    assert named.returncode == 1
    assert named.stdout.splitlines() == [
        "TESS SPOC light curves: 1 file: 0 loaded, 0 skipped, 1 failed", "failed:",
        f"  {kepler}: a Kepler long-cadence light curve (TELESCOP = 'Kepler', KEPLERID = "
        "11446443), not a TESS SPOC light curve"]
