"""Stored paths are absolute: files loaded from a relative path are found from any directory."""

from __future__ import annotations

import os
import pathlib

import pytest
import sqlalchemy as sa

from lightcurvedb.core.pathtype import absolute_path, resolved_path
from lightcurvedb.loaders.rbh1 import load_rbh1_directory
from lightcurvedb.models import FITSFrame
from lightcurvedb.rbh1 import RBH1Observation
from lightcurvedb.testing.fits.rbh1 import write_rbh1_set

SMALL = {"flc": 1, "drc": 1, "cal": 1, "x1d": 1, "s3d": 1}


def _stored_text(session, column):
    """The column's values as the database holds them (text, no PathType processing)."""
    return sorted(session.execute(sa.select(sa.type_coerce(column, sa.String))).scalars())


# -- the rule -----------------------------------------------------------------------------------

def test_relative_paths_are_joined_to_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert absolute_path("s1/x.fits") == tmp_path / "s1" / "x.fits"
    assert absolute_path(pathlib.Path("./x.fits")) == tmp_path / "x.fits"


def test_dotdot_is_resolved_through_symbolic_links(tmp_path, monkeypatch):
    (tmp_path / "real" / "deep").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real" / "deep")
    monkeypatch.chdir(tmp_path)
    # link/.. is real/, not tmp_path: dropping "link/.." as text would be wrong.
    assert absolute_path("link/../x.fits") == tmp_path / "real" / "x.fits"
    assert absolute_path(tmp_path / "link" / ".." / "x.fits") == tmp_path / "real" / "x.fits"


def test_clean_absolute_paths_are_kept_as_given(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "current").symlink_to(tmp_path / "real")
    # No filesystem access: a stable symbolic link keeps its name, a missing file is fine.
    assert absolute_path(tmp_path / "current" / "x.fits") == tmp_path / "current" / "x.fits"
    assert absolute_path("/no/such/disk/x.fits") == pathlib.Path("/no/such/disk/x.fits")
    assert resolved_path(tmp_path / "current" / "x.fits") == tmp_path / "real" / "x.fits"
    assert resolved_path("/no/such/disk/x.fits") == pathlib.Path("/no/such/disk/x.fits")


def test_empty_paths_are_refused():
    with pytest.raises(ValueError, match="empty path"):
        absolute_path("")
    with pytest.raises(ValueError, match="empty path"):
        resolved_path("")


def test_symbolic_link_loops_are_refused_in_one_line(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(ValueError, match=r"^\S+/a/x\.fits: ") as caught:
        resolved_path(tmp_path / "a" / "x.fits")
    assert "\n" not in str(caught.value)


def test_the_column_type_binds_absolute_paths(session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    table = FITSFrame.__table__
    bound = sa.select(sa.literal(pathlib.Path("s1/x.fits"), table.c.file_path.type))
    assert session.execute(sa.select(sa.type_coerce(bound.scalar_subquery(), sa.String))
                           ).scalar_one() == str(tmp_path / "s1" / "x.fits")


# -- loaders ------------------------------------------------------------------------------------

def test_rbh1_files_loaded_from_a_relative_path(session, tmp_path, monkeypatch):
    written = write_rbh1_set(tmp_path / "rbh1", counts=SMALL, seed=5)
    monkeypatch.chdir(tmp_path)
    report = load_rbh1_directory(session, "rbh1/../rbh1", progress=False)
    assert len(report.loaded) == sum(SMALL.values())
    expected = sorted(str(path) for paths in written.values() for path in paths)
    assert _stored_text(session, RBH1Observation.file_path) == expected
    frames = [path for path in _stored_text(session, FITSFrame.file_path)
              if path.startswith(str(tmp_path))]
    assert frames == expected
    assert os.path.commonpath(expected) == str(tmp_path / "rbh1")
    # A query with a relative path, from the directory it was typed in, finds the row.
    relative = pathlib.Path("rbh1") / written["s3d"][0].name
    assert session.scalar(sa.select(sa.func.count()).select_from(RBH1Observation).where(
        RBH1Observation.file_path == relative)) == 1
    monkeypatch.chdir("/")
    stored = session.scalars(sa.select(RBH1Observation.file_path)).all()
    assert len(stored) == len(expected) and all(path.is_file() for path in stored)
