"""map_loader: the TESS loader over a local 2-process Dask cluster writing to PostgreSQL.

The cluster's result is compared with a sequential load of the same files into
SQLite: same rows, same arrays, same refusals. The expected counts come from
the file plan below, not from the code.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import distributed
import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from lightcurvedb import connect, migrations
from lightcurvedb.loaders import tess
from lightcurvedb.missions.tess import TESSObservation
from lightcurvedb.models import (
    DataSet,
    DataSetHierarchy,
    Instrument,
    Mission,
    MissionCatalog,
    Observation,
    PhotometricSource,
    ProcessingMethod,
    QualityFlagArray,
    Target,
    TargetSpecificTime,
)
from lightcurvedb.scaleout import batch_groups, map_loader, tess_observation_key
from lightcurvedb.testing.fits import (
    write_spoc_lightcurve,
    write_truncated_copy,
    write_with_ticid_mismatch,
    write_without_hdu,
)

#: (tic, sector, camera, ccd, cadence seconds) of the good files: five observations
#: in four (sector, camera, ccd) groups; TICs 1, 2 and 4 appear in two groups each,
#: so two tasks need the same targets at the same time.
GOOD = [(1, 1, 1, 1, 120), (2, 1, 1, 1, 120), (3, 1, 1, 1, 120), (1, 1, 1, 1, 20),
        (4, 1, 2, 3, 120), (5, 1, 2, 3, 120),
        (1, 2, 1, 1, 120), (4, 2, 1, 1, 120),
        (2, 2, 4, 2, 120), (6, 2, 4, 2, 120), (7, 2, 4, 2, 120)]
#: Rows the good files make: 7 TICs, 5 observations, per file one time array, two
#: light curves (SAP, PDCSAP), one lineage edge and one flag array.
EXPECTED = {"mission": 1, "mission_catalog": 1, "target": 7, "instrument": 21,
            "observation": 5, "target_specific_time": 11, "photometric_source": 1,
            "processing_method": 1, "dataset": 22, "dataset_hierarchy": 11,
            "quality_flag_array": 11}
TABLES = (Mission, MissionCatalog, Target, Instrument, Observation, TargetSpecificTime,
          PhotometricSource, ProcessingMethod, DataSet, DataSetHierarchy, QualityFlagArray)


@pytest.fixture(scope="module")
def cluster_client() -> Iterator[distributed.Client]:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def spoc_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    directory = tmp_path_factory.mktemp("spoc-map")
    for tic, sector, camera, ccd, cadence in GOOD:
        write_spoc_lightcurve(directory, tic_id=tic, sector=sector, camera=camera, ccd=ccd,
                              cadence_seconds=cadence, n_cadences=120)
    return directory


@pytest.fixture(scope="module")
def bad_files(spoc_dir: pathlib.Path, tmp_path_factory: pytest.TempPathFactory
              ) -> dict[str, pathlib.Path]:
    """Refused files: two with readable headers naming TICs no good file has (8, 9)."""
    scratch = tmp_path_factory.mktemp("spoc-sources")
    new_8 = write_spoc_lightcurve(scratch, tic_id=8, sector=1, camera=2, ccd=3, n_cadences=120)
    new_9 = write_spoc_lightcurve(scratch, tic_id=9, sector=2, camera=4, ccd=2, n_cadences=120)
    good = next(spoc_dir.glob("*-0000000000000006-*"))
    junk = spoc_dir / "junk_lc.fits"
    junk.write_bytes(b"this is not FITS at all\n" * 200)
    return {
        "no_lightcurve": write_without_hdu(new_8, spoc_dir / "nohdu_lc.fits"),
        "tic_mismatch": write_with_ticid_mismatch(new_9, spoc_dir / "mismatch_lc.fits"),
        "truncated": write_truncated_copy(good, spoc_dir / "truncated_lc.fits"),
        "junk": junk,
    }


def good_paths(spoc_dir: pathlib.Path) -> list[pathlib.Path]:
    return sorted(set(tess.find_spoc_files(spoc_dir)) - {
        spoc_dir / name for name in ("nohdu_lc.fits", "mismatch_lc.fits", "truncated_lc.fits",
                                     "junk_lc.fits")})


def snapshot(url: URL | str) -> tuple[dict[str, int], dict[tuple, list[np.ndarray]]]:
    """Row counts, and every array keyed by natural keys (TIC, sector, camera, CCD, ...)."""
    engine = connect(url)
    try:
        with Session(engine) as session:
            counts = {model.__tablename__: session.scalar(
                select(func.count()).select_from(model)) for model in TABLES}
            observations = {o.id: (o.sector, o.camera, o.ccd, o.cadence_seconds)
                            for o in session.scalars(select(TESSObservation))}
            arrays: dict[tuple, list[np.ndarray]] = {}
            for o in session.scalars(select(TESSObservation)):
                arrays["cadences", *observations[o.id]] = [o.cadence_reference]
            for tst in session.scalars(select(TargetSpecificTime)):
                arrays["times", tst.target.name, *observations[tst.observation_id]] = \
                    [tst.barycentric_julian_dates]
            for flags in session.scalars(select(QualityFlagArray)):
                arrays["flags", flags.target.name, *observations[flags.observation_id]] = \
                    [flags.quality_flags]
            for ds in session.scalars(select(DataSet)):
                method = ds.processing_method.name if ds.processing_method else None
                sources = [(s.target.name, s.processing_method_id is None)
                           for s in ds.source_datasets]
                arrays["flux", ds.target.name, *observations[ds.observation_id], method] = \
                    [ds.values, ds.errors, np.array(sources, dtype=object)]
            return counts, arrays
    finally:
        engine.dispose()


def assert_same_arrays(left: dict[tuple, list[np.ndarray]],
                       right: dict[tuple, list[np.ndarray]]) -> None:
    assert sorted(left, key=repr) == sorted(right, key=repr)
    for key, arrays in left.items():
        for mine, theirs in zip(arrays, right[key], strict=True):
            np.testing.assert_array_equal(mine, theirs, err_msg=str(key))


def test_observation_key_reads_the_primary_header(spoc_dir, bad_files):
    path = next(spoc_dir.glob("*-s0002-0000000000000007-*"))
    assert tess_observation_key(path) == (2, 4, 2)
    assert tess_observation_key(bad_files["no_lightcurve"]) == (1, 2, 3)
    with pytest.raises(OSError):
        tess_observation_key(bad_files["junk"])


def test_batches_never_split_a_group():
    groups = {"a": [1, 2, 3, 4], "b": [5, 6], "c": [7, 8], "d": [9, 10, 11], "e": [12]}
    batches = batch_groups(groups, 3)
    assert batches == [[1, 2, 3, 4], [5, 6], [7, 8], [9, 10, 11], [12]]
    assert batch_groups(groups, 6) == [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]
    with pytest.raises(ValueError, match="at least 1"):
        batch_groups(groups, 0)


@pytest.mark.parametrize("empty_database_url", ["postgresql"], indirect=True)
def test_map_over_two_workers_equals_a_sequential_load(cluster_client, spoc_dir, bad_files,
                                                       empty_database_url, tmp_path):
    good = good_paths(spoc_dir)
    assert len(good) == len(GOOD)

    report = map_loader(cluster_client, "tess", [spoc_dir], empty_database_url, batch_size=3)

    # every good file loaded exactly once, in one of several tasks
    assert sorted(report.loaded) == good and len(set(report.loaded)) == len(report.loaded)
    assert report.skipped == []
    reasons = dict(report.failures)
    assert sorted(reasons) == sorted(bad_files.values())
    assert "no 'LIGHTCURVE' HDU" in reasons[bad_files["no_lightcurve"]]
    assert "TIC id mismatch" in reasons[bad_files["tic_mismatch"]]
    assert reasons[bad_files["junk"]].startswith("not a FITS file")
    assert reasons[bad_files["truncated"]].startswith("truncated or corrupt FITS file")
    assert migrations.current(empty_database_url) == migrations.heads()

    counts, arrays = snapshot(empty_database_url)
    assert counts == EXPECTED          # TICs 8 and 9 of refused files left no target
    assert len([key for key in arrays if key[0] == "cadences"]) == 5

    sqlite_url = URL.create("sqlite", database=str(tmp_path / "sequential.sqlite3"))
    migrations.upgrade(sqlite_url)
    sequential = tess.load_paths(sqlite_url, [spoc_dir], progress=False)
    assert sorted(sequential.loaded) == good
    assert sorted(sequential.failures) == sorted(report.failures)
    sequential_counts, sequential_arrays = snapshot(sqlite_url)
    assert sequential_counts == counts
    assert_same_arrays(arrays, sequential_arrays)

    again = map_loader(cluster_client, "tess", [spoc_dir], empty_database_url, batch_size=3)
    assert again.loaded == [] and sorted(again.skipped) == good
    assert sorted(again.failures) == sorted(report.failures)
    again_counts, again_arrays = snapshot(empty_database_url)
    assert again_counts == counts
    assert_same_arrays(again_arrays, arrays)
