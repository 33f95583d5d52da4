"""``lcdb load rbh1``, run as a real subprocess in a clean home directory."""

from __future__ import annotations

import json
import pathlib
import re
import shlex

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import URL

from cli_support import lcdb
from lightcurvedb import connect, migrations
from lightcurvedb.cli import build_parser
from lightcurvedb.rbh1 import PipelineRun, RBH1Observation, WCSSolution
from lightcurvedb.testing.fits.rbh1 import write_rbh1_set, write_with_zero_crval

COUNTS = {"flc": 2, "drc": 2, "cal": 1, "x1d": 1, "s3d": 2}


@pytest.fixture
def url(tmp_path: pathlib.Path) -> str:
    return str(URL.create("sqlite", database=str(tmp_path / "cli.sqlite3")))


@pytest.fixture(scope="module")
def rbh1_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """Eight generated files: 2 flc, 2 drc (one a skycell), 1 cal, 1 x1d, 2 s3d."""
    directory = tmp_path_factory.mktemp("rbh1_cli")
    write_rbh1_set(directory, counts=COUNTS)
    return directory



def rows(url: str, model: type) -> int:
    engine = connect(url)         # translates the rbh1 schema away on SQLite
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(model)) or 0
    finally:
        engine.dispose()


def test_help_lists_load_rbh1(env):
    assert re.search(r"(?m)^\s+rbh1\b", lcdb(env, "load", "--help").stdout)
    usage = lcdb(env, "load", "rbh1", "--help").stdout
    for option in ("--dictionary", "--no-progress", "--strict", "--url", "DIR"):
        assert option in usage
    assert lcdb(env, "load", "rbh1").returncode == 2  # DIR is required


def test_parser_defaults():
    args = build_parser().parse_args(["load", "rbh1", "data"])
    assert (args.directory, args.progress, args.strict, args.dictionary) == (
        ["data"], True, False, None)
    args = build_parser().parse_args(["load", "rbh1", "--no-progress", "--strict",
                                      "--dictionary", "d.json", "x"])
    assert (args.progress, args.strict, args.dictionary) == (False, True, "d.json")


def test_load_migrates_writes_the_dictionary_and_skips_on_rerun(env, url, rbh1_dir, tmp_path):
    dictionary = tmp_path / "out" / "fits_data_dictionary.json"
    first = lcdb(env, "--url", url, "load", "rbh1", str(rbh1_dir), "--dictionary",
                 str(dictionary), "--no-progress")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "RBH-1 files: 8 files: 8 loaded, 0 skipped, 0 failed"
    assert re.fullmatch(r"pipeline run: rbh1-load-\d{8}T\d{6}Z-[0-9a-f]{6}", lines[1])
    assert lines[2] == f"data dictionary: {dictionary}"
    assert first.stderr == ""
    assert migrations.current(url) == migrations.heads()
    assert (rows(url, RBH1Observation), rows(url, WCSSolution), rows(url, PipelineRun)) == \
        (8, 6, 3)
    assert set(json.loads(dictionary.read_text())["file_types"]) == {
        "flc", "drc", "cal", "x1d", "s3d"}

    second = lcdb(env, "--url", url, "load", "rbh1", str(rbh1_dir))
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[0] == "RBH-1 files: 8 files: 0 loaded, 8 skipped, 0 failed"
    assert "[" in second.stderr     # more than MIN_ITEMS files: a progress bar on stderr
    assert (rows(url, RBH1Observation), rows(url, PipelineRun)) == (8, 6)


def test_failed_file_is_listed_and_exit_status_is_1(env, url, rbh1_dir, tmp_path):
    cube = sorted(rbh1_dir.glob("*_s3d.fits"))[0]
    bad = write_with_zero_crval(cube, tmp_path / "jw03149009001_03101_00001_nrs1_s3d.fits")
    result = lcdb(env, "--url", url, "load", "rbh1", "--no-progress", str(rbh1_dir), str(bad))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "RBH-1 files: 9 files: 8 loaded, 0 skipped, 1 failed",
        "failed:",
        f"  {bad}: no celestial WCS in SCI,1: CTYPE1/2 = 'RA---TAN'/'DEC--TAN', CRVAL1/2 = "
        "0.0/0.0: s3d files need a celestial (RA/Dec) WCS"]
    assert rows(url, RBH1Observation) == 8  # the good files are committed


def test_strict_aborts_and_commits_nothing(env, url, rbh1_dir, tmp_path):
    bad = tmp_path / "missing_s3d.fits"
    result = lcdb(env, "--url", url, "load", "rbh1", "--strict", str(bad), str(rbh1_dir))
    assert result.returncode == 1
    assert result.stderr == f"lcdb: error: {bad}: no such file\n"
    assert result.stdout == ""
    assert rows(url, RBH1Observation) == 0 and rows(url, PipelineRun) == 0


def test_demo_rbh1_generates_the_seed_set_loads_it_and_is_idempotent(env, tmp_path):
    # With no configuration: the default SQLite file, the files next to it.
    first = lcdb(env, "demo", "rbh1")
    assert first.returncode == 0, first.stderr
    assert "wrote 194 miniature RBH-1 files" in first.stdout
    assert "194 files: 194 loaded, 0 skipped, 0 failed" in first.stdout
    assert "18 files: 18 loaded" in first.stdout  # spaxels of the 18 s3d cubes
    data = tmp_path / "data" / "lightcurvedb"
    assert len(list((data / "rbh1-demo").glob("*.fits"))) == 194

    # It ends with next steps that work: here the dashboard of what it loaded.
    steps = [shlex.split(line, comments=True)
             for line in first.stdout[first.stdout.index("Next steps:"):].splitlines()[1:]]
    assert [step[:2] for step in steps] == [["lcdb", "rbh1"], ["lcdb", "db"]]
    for step in steps:
        done = lcdb(env, *step[1:])
        assert done.returncode == 0, (step, done.stderr)
    image = (tmp_path / "home" / steps[0][3]).read_bytes()
    assert image[:8] == b"\x89PNG\r\n\x1a\n" and len(image) > 20_000

    again = lcdb(env, "demo", "rbh1")
    assert again.returncode == 0, again.stderr
    assert "wrote" not in again.stdout
    assert "194 files: 0 loaded, 194 skipped, 0 failed" in again.stdout
    engine = connect(URL.create("sqlite", database=str(data / "lightcurvedb.sqlite3")))
    try:
        with engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(RBH1Observation)) == 194
            assert connection.scalar(select(func.count()).select_from(WCSSolution)) == 160
    finally:
        engine.dispose()
