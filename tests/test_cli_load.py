"""``lcdb load tess``, run as a real subprocess in a clean home directory."""

from __future__ import annotations

import pathlib
import re

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import URL

from cli_support import lcdb
from lightcurvedb import migrations
from lightcurvedb.cli import build_parser
from lightcurvedb.models import DataSet, Target
from lightcurvedb.testing.fits import (
    spoc_filename,
    write_spoc_lightcurve,
    write_with_ticid_mismatch,
)

TICS = (261136679, 25155310, 307210830, 220479565, 149603524, 38846515)


@pytest.fixture
def url(tmp_path: pathlib.Path) -> str:
    return str(URL.create("sqlite", database=str(tmp_path / "cli.sqlite3")))


@pytest.fixture(scope="module")
def spoc_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """Two sector-1 light curves, one of them in a subdirectory."""
    directory = tmp_path_factory.mktemp("spoc")
    (directory / "deeper").mkdir()
    write_spoc_lightcurve(directory, tic_id=TICS[0], sector=1, camera=1, ccd=1, n_cadences=200)
    write_spoc_lightcurve(directory / "deeper", tic_id=TICS[1], sector=1, camera=1, ccd=1,
                          n_cadences=200)
    return directory



def rows(url: str, model: type) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(model)) or 0
    finally:
        engine.dispose()


def test_help_lists_load_tess(env):
    top = lcdb(env, "--help").stdout
    assert re.search(r"(?m)^\s+load\s+\S", top) and re.search(r"(?m)^\s+demo\s+\S", top)
    assert re.search(r"(?m)^\s+tess\b", lcdb(env, "load", "--help").stdout)
    usage = lcdb(env, "load", "tess", "--help").stdout
    for option in ("--no-progress", "--strict", "--url", "PATH"):
        assert option in usage
    assert lcdb(env, "load", "tess").returncode == 2  # PATH is required


def test_parser_defaults():
    args = build_parser().parse_args(["load", "tess", "a_lc.fits", "dir"])
    assert (args.paths, args.progress, args.strict) == (["a_lc.fits", "dir"], True, False)
    args = build_parser().parse_args(["load", "tess", "--no-progress", "--strict", "x"])
    assert (args.progress, args.strict) == (False, True)


def test_load_directory_migrates_loads_and_skips_on_rerun(env, url, spoc_dir):
    first = lcdb(env, "--url", url, "load", "tess", str(spoc_dir))
    assert first.returncode == 0, first.stderr
    assert first.stdout == "TESS SPOC light curves: 2 files: 2 loaded, 0 skipped, 0 failed\n"
    assert first.stderr == ""  # two files and no terminal: no progress bar
    assert migrations.current(url) == migrations.heads()
    assert (rows(url, Target), rows(url, DataSet)) == (2, 4)

    second = lcdb(env, "--url", url, "load", "tess", str(spoc_dir))
    assert second.returncode == 0, second.stderr
    assert second.stdout == "TESS SPOC light curves: 2 files: 0 loaded, 2 skipped, 0 failed\n"
    assert (rows(url, Target), rows(url, DataSet)) == (2, 4)


def test_failed_file_is_listed_and_exit_status_is_1(env, url, spoc_dir, tmp_path):
    bad = write_with_ticid_mismatch(spoc_dir / spoc_filename(TICS[0], 1),
                                    tmp_path / "mismatch_lc.fits")
    result = lcdb(env, "--url", url, "load", "tess", str(spoc_dir), str(bad))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "TESS SPOC light curves: 3 files: 2 loaded, 0 skipped, 1 failed",
        "failed:",
        f"  {bad}: TIC id mismatch: TICID {TICS[0]} in the primary header but {TICS[0] + 1} "
        "in the LIGHTCURVE header",
    ]
    assert rows(url, DataSet) == 4  # the good files are committed


def test_strict_aborts_and_commits_nothing(env, url, spoc_dir, tmp_path):
    bad = tmp_path / "missing_lc.fits"
    result = lcdb(env, "--url", url, "load", "tess", "--strict", str(spoc_dir), str(bad))
    assert result.returncode == 1
    assert result.stderr == f"lcdb: error: {bad}: no such file\n"
    assert result.stdout == ""
    assert rows(url, DataSet) == 0


def test_progress_bar_on_long_runs_and_no_progress(env, url, tmp_path):
    for tic in TICS:
        write_spoc_lightcurve(tmp_path, tic_id=tic, sector=2, camera=3, ccd=4, n_cadences=50)
    shown = lcdb(env, "--url", url, "load", "tess", str(tmp_path))
    assert shown.returncode == 0, shown.stderr
    # text mode reads the bar's carriage returns as newlines
    assert shown.stderr.startswith("\ntess [") and shown.stderr.endswith("\n")
    assert re.search(r"tess \[#{30}\] 6/6 [\d.]+ files/s in 0:00:\d\d *\n$", shown.stderr)
    quiet = lcdb(env, "--url", url, "load", "tess", "--no-progress", str(tmp_path))
    assert (quiet.returncode, quiet.stderr) == (0, "")
    assert quiet.stdout == "TESS SPOC light curves: 6 files: 0 loaded, 6 skipped, 0 failed\n"


def test_jobs_and_batch_size(env, url, spoc_dir):
    args = build_parser().parse_args(["load", "tess", "x"])
    assert (args.jobs, args.batch_size) == (None, 32)   # None: the loader picks
    first = lcdb(env, "--url", url, "load", "tess", "--jobs", "2", "--batch-size", "1",
                 str(spoc_dir))
    assert first.returncode == 0, first.stderr
    assert first.stdout == "TESS SPOC light curves: 2 files: 2 loaded, 0 skipped, 0 failed\n"
    assert rows(url, DataSet) == 4
    again = lcdb(env, "--url", url, "load", "tess", "--jobs", "2", str(spoc_dir))
    assert again.stdout == "TESS SPOC light curves: 2 files: 0 loaded, 2 skipped, 0 failed\n"
    for bad in ("0", "two"):
        refused = lcdb(env, "--url", url, "load", "tess", "--jobs", bad, str(spoc_dir))
        assert refused.returncode == 2 and "--jobs" in refused.stderr
