"""The DSA-110 ingest queue: subband registration, the state machine, concurrent claims."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from lightcurvedb import connect, migrations
from lightcurvedb.radio import IngestGroup, PerformanceMetrics, SubbandFile
from lightcurvedb.radio import queue as q
from lightcurvedb.radio.binding import radio_session
from lightcurvedb.testing.radio_ddl import create_pipeline_databases

T0 = dt.datetime(2025, 10, 24, 12, 0, 0, tzinfo=dt.UTC)
GROUP = "2025-10-24T12:00:00"


def _fill(session, group_id=GROUP, n=16, when=T0, **kwargs):
    result = None
    for index in range(n):
        result = q.register_subband(session, group_id, index, f"/in/{group_id}_sb{index:02d}.hdf5",
                                    file_size=1000 + index, discovered_at=when, **kwargs)
    return result


def _group(session, group_id=GROUP):
    return session.get(IngestGroup, group_id, populate_existing=True)


def _n_files(session, group_id=GROUP):
    return session.scalar(sa.select(sa.func.count()).select_from(SubbandFile).where(
        SubbandFile.group_id == group_id))


# -- registration ------------------------------------------------------------------------------

def test_sixteen_subbands_make_a_group_pending(session):
    fifteen = _fill(session, n=15)
    assert (fifteen.n_present, fifteen.expected, fifteen.state) == (15, 16, "collecting")
    assert _group(session).state == "collecting"
    last = q.register_subband(session, GROUP, 15, f"/in/{GROUP}_sb15.hdf5", discovered_at=T0)
    assert (last.created, last.n_present, last.state) == (True, 16, "pending")
    group = _group(session)
    assert (group.state, group.received_at, group.expected_subbands, group.retry_count) == \
        ("pending", T0, 16, 0)
    assert [s.subband_idx for s in group.subbands] == list(range(16))
    assert group.subbands[3].file_size == 1003


def test_registering_the_same_file_twice_changes_nothing(session):
    _fill(session, n=3)
    again = q.register_subband(session, GROUP, 1, f"/in/{GROUP}_sb01.hdf5")
    assert (again.created, again.n_present, again.state) == (False, 3, "collecting")
    assert _n_files(session) == 3


@pytest.mark.parametrize("index", [-1, 16, 99, True, 3.0, "3", None])
def test_subband_index_outside_0_15_is_refused(session, index):
    with pytest.raises(q.SubbandError, match="subband index must be an integer from 0 to 15"):
        q.register_subband(session, GROUP, index, "/in/x.hdf5")
    assert _group(session) is None  # not even the group was created


def test_conflicting_file_for_a_subband_is_refused(session):
    _fill(session, n=2)
    with pytest.raises(q.SubbandError, match="subband 1 is already"):
        q.register_subband(session, GROUP, 1, "/elsewhere/sb01.hdf5")
    files = session.scalars(sa.select(SubbandFile.file_path).where(
        SubbandFile.subband_idx == 1)).all()
    assert files == [f"/in/{GROUP}_sb01.hdf5"]


def test_a_complete_group_takes_no_more_subbands(session):
    _fill(session, n=4, expected_subbands=4)
    assert _group(session).state == "pending"
    with pytest.raises(q.SubbandError, match="is pending: it takes no more subbands"):
        q.register_subband(session, GROUP, 9, "/in/sb09.hdf5")
    assert _n_files(session) == 4


@pytest.mark.parametrize("kwargs, message", [
    ({"group_id": "2025-10-24 12:00"}, "not a YYYY-MM-DDTHH:MM:SS timestamp"),
    ({"expected_subbands": 0}, "expected_subbands must be an integer from 1 to 16"),
    ({"expected_subbands": 17}, "expected_subbands must be an integer from 1 to 16"),
    ({"file_size": -5}, "file size must be an integer"),
    ({"file_path": ""}, "empty file path"),
    ({"discovered_at": dt.datetime(2025, 10, 24)}, "naive datetime"),
])
def test_bad_registrations_write_nothing(session, kwargs, message):
    arguments = {"group_id": GROUP, "subband_idx": 0, "file_path": "/in/sb00.hdf5", **kwargs}
    with pytest.raises(q.QueueError, match=message):
        q.register_subband(session, **arguments)
    assert session.scalar(sa.select(sa.func.count()).select_from(IngestGroup)) == 0


def test_register_subband_file_reads_name_and_size(session, tmp_path):
    path = tmp_path / f"{GROUP}_sb07.hdf5"
    path.write_bytes(b"\x89HDF\r\n" + bytes(100))
    done = q.register_subband_file(session, path)
    assert (done.group_id, done.subband_idx) == (GROUP, 7)
    stored = session.scalars(sa.select(SubbandFile)).one()
    assert (stored.file_path, stored.file_size) == (str(path), 106)
    assert q.parse_subband_filename("/x/2025-01-02T03:04:05_sb15.hdf5") == \
        ("2025-01-02T03:04:05", 15)
    with pytest.raises(q.SubbandError, match="not a subband file name"):
        q.parse_subband_filename("/x/2025-01-02T03:04:05_sb1.hdf5")
    with pytest.raises(FileNotFoundError):
        q.register_subband_file(session, tmp_path / f"{GROUP}_sb08.hdf5")


# -- the state machine -------------------------------------------------------------------------

def test_claim_complete_fail_retry(session):
    _fill(session)
    assert q.claim_next(session, now=T0) is not None
    assert _group(session).state == "in_progress"
    assert q.claim_next(session) is None                   # nothing else pending
    with pytest.raises(q.TransitionError, match="is in_progress, not failed"):
        q.retry_group(session, GROUP)
    with pytest.raises(q.QueueError, match="needs an error message"):
        q.fail_group(session, GROUP, "  ")
    q.fail_group(session, GROUP, "gaincal: no solutions", now=T0 + dt.timedelta(minutes=5))
    group = _group(session)
    assert (group.state, group.error_message, group.last_update) == \
        ("failed", "gaincal: no solutions", T0 + dt.timedelta(minutes=5))
    with pytest.raises(q.TransitionError, match="is failed, not in_progress"):
        q.complete_group(session, GROUP)

    q.retry_group(session, GROUP)
    group = _group(session)
    assert (group.state, group.retry_count, group.error_message) == \
        ("pending", 1, "gaincal: no solutions")
    claimed = q.claim_next(session)
    assert (claimed.group_id, claimed.retry_count, len(claimed.files)) == (GROUP, 1, 16)
    assert claimed.files[0].endswith("_sb00.hdf5") and claimed.files[15].endswith("_sb15.hdf5")
    q.complete_group(session, GROUP)
    group = _group(session)
    assert (group.state, group.retry_count, group.error_message) == ("completed", 1, None)
    with pytest.raises(q.TransitionError, match="is completed, not in_progress"):
        q.complete_group(session, GROUP)
    assert q.queue_counts(session) == {"collecting": 0, "pending": 0, "in_progress": 0,
                                       "completed": 1, "failed": 0}


def test_retries_stop_at_the_limit(session):
    _fill(session)
    for attempt in range(3):
        q.claim_next(session)
        q.fail_group(session, GROUP, f"attempt {attempt}")
        q.retry_group(session, GROUP, max_retries=3)
    q.claim_next(session)
    q.fail_group(session, GROUP, "attempt 3")
    with pytest.raises(q.RetryLimitError, match="retried 3 times \\(limit 3\\)"):
        q.retry_group(session, GROUP, max_retries=3)
    group = _group(session)
    assert (group.state, group.retry_count, group.error_message) == ("failed", 3, "attempt 3")


def test_transitions_of_unknown_or_collecting_groups(session):
    with pytest.raises(q.UnknownGroupError):
        q.complete_group(session, "2025-10-24T23:59:59")
    _fill(session, n=5)
    with pytest.raises(q.TransitionError, match="is collecting, not in_progress"):
        q.fail_group(session, GROUP, "x")
    assert q.claim_next(session) is None                   # collecting groups are not claimable
    assert _group(session).state == "collecting"


def test_claims_come_oldest_first(session):
    for minute in (30, 10, 20):
        group_id = f"2025-10-24T12:{minute:02d}:00"
        _fill(session, group_id, when=T0 + dt.timedelta(minutes=minute))
    claimed = [q.claim_next(session).group_id for _ in range(3)]
    assert claimed == ["2025-10-24T12:10:00", "2025-10-24T12:20:00", "2025-10-24T12:30:00"]
    assert q.claim_next(session) is None


def test_times_stay_unix_reals(session, backend):
    _fill(session, n=1)
    table = "radio.ingest_queue" if backend == "postgresql" else "ingest_queue"
    received, = session.execute(sa.text(f"SELECT received_at FROM {table}")).one()
    assert isinstance(received, float) and received == T0.timestamp()


def test_performance_metrics(session):
    _fill(session)
    q.record_performance(session, GROUP, writer_type="direct-subband", conversion_time=81.5,
                         imaging_time=240.0, total_time=400.25, recorded_at=T0)
    q.record_performance(session, GROUP, writer_type="auto", total_time=390.0, recorded_at=T0)
    metrics = session.scalars(sa.select(PerformanceMetrics).execution_options(
        populate_existing=True)).one()
    assert (metrics.writer_type, metrics.total_time, metrics.imaging_time, metrics.recorded_at) \
        == ("auto", 390.0, None, T0)
    for kwargs, message in [({"total_time": -1.0}, "total_time must be a finite number"),
                            ({"k_solve_time": float("nan")}, "k_solve_time must be a finite"),
                            ({"warp_time": 1.0}, "unknown processing time"),
                            ({"writer_type": "casa"}, "writer_type must be one of")]:
        with pytest.raises(q.QueueError, match=message):
            q.record_performance(session, GROUP, **kwargs)
    with pytest.raises(q.UnknownGroupError):
        q.record_performance(session, "2025-10-24T23:59:59", total_time=1.0)


def test_calibrators(session):
    _fill(session, n=1)
    q.set_calibrators(session, GROUP, ["3C286", "3C48"])
    group = _group(session)
    assert (group.has_calibrator, json.loads(group.calibrators)) == (True, ["3C286", "3C48"])
    q.set_calibrators(session, GROUP, [])
    assert _group(session).has_calibrator is False


# -- concurrent workers ------------------------------------------------------------------------

N_GROUPS = 120


def _queue_groups(engine, n=N_GROUPS):
    rows = [{"group_id": (T0 + dt.timedelta(minutes=5 * i)).strftime("%Y-%m-%dT%H:%M:%S"),
             "state": "pending", "received_at": T0 + dt.timedelta(seconds=i),
             "last_update": T0, "expected_subbands": 16, "retry_count": 0} for i in range(n)]
    with Session(engine) as session:
        session.execute(sa.insert(IngestGroup.__table__), rows)
        session.commit()
    return sorted(row["group_id"] for row in rows)


def _claim_all(make_session, start):
    claimed = []
    with make_session() as session:
        start.wait()
        while (group := q.claim_next(session)) is not None:
            claimed.append(group.group_id)
            q.complete_group(session, group.group_id)
    return claimed


def _run_threads(make_session, n_workers=4):
    start = threading.Barrier(n_workers)
    results: list[list[str]] = [[] for _ in range(n_workers)]
    errors: list[BaseException] = []

    def work(slot):
        try:
            results[slot] = _claim_all(make_session, start)
        except BaseException as exc:  # reported below, not swallowed
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(n_workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def _assert_each_claimed_once(results, expected, engine):
    everything = [group for worker in results for group in worker]
    assert sorted(everything) == expected                  # every group, none twice
    assert sum(1 for worker in results if worker) >= 2      # the workers really competed
    with Session(engine) as session:
        assert q.queue_counts(session)["completed"] == len(expected)


@pytest.fixture
def postgres_engine(empty_database_url):
    """A migrated, committed PostgreSQL database (parametrise empty_database_url with it)."""
    engine = connect(empty_database_url)
    migrations.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("empty_database_url", ["postgresql"], indirect=True)
def test_concurrent_claims_with_threads_on_postgresql(postgres_engine):
    expected = _queue_groups(postgres_engine)
    results = _run_threads(lambda: Session(postgres_engine))
    _assert_each_claimed_once(results, expected, postgres_engine)


_WORKER = """
import json, os, sys, time
from sqlalchemy.orm import Session
from lightcurvedb import connect
from lightcurvedb.radio.queue import claim_next, complete_group
engine = connect(sys.argv[1])
while not os.path.exists(sys.argv[2]):
    time.sleep(0.005)
claimed = []
with Session(engine) as session:
    while (group := claim_next(session)) is not None:
        claimed.append(group.group_id)
        complete_group(session, group.group_id)
engine.dispose()
print(json.dumps(claimed))
"""


@pytest.mark.parametrize("empty_database_url", ["postgresql"], indirect=True)
def test_concurrent_claims_with_processes_on_postgresql(postgres_engine, tmp_path):
    expected = _queue_groups(postgres_engine)
    url = postgres_engine.url.render_as_string(hide_password=False)
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    workers = [subprocess.Popen([sys.executable, "-c", _WORKER, url, str(go)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    time.sleep(0.5)     # let both import and connect, then start them together
    go.touch()
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        results.append(json.loads(out))
    _assert_each_claimed_once(results, expected, postgres_engine)


def test_concurrent_claims_with_threads_on_sqlite_pipeline_file(tmp_path):
    paths = create_pipeline_databases(tmp_path)
    engine = connect(f"sqlite:///{paths['ingest']}")
    try:
        expected = _queue_groups(engine, 60)
        results = _run_threads(lambda: radio_session({"ingest": engine}))
        _assert_each_claimed_once(results, expected, engine)
    finally:
        engine.dispose()


def _register_concurrently(engine, make_session, groups):
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(parity):
        try:
            with make_session() as session:
                for group_id in groups:
                    indices = list(range(parity, 16, 2))
                    for index in indices[:-1]:
                        q.register_subband(session, group_id, index, f"/in/{group_id}_{index}")
                    start.wait()        # both watchers bring a group's last two subbands at once
                    q.register_subband(session, group_id, indices[-1],
                                       f"/in/{group_id}_{indices[-1]}")
        except BaseException as exc:
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=work, args=(parity,)) for parity in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    with Session(engine) as session:
        states = dict(session.execute(sa.select(IngestGroup.group_id, IngestGroup.state)).all())
    assert states == dict.fromkeys(groups, "pending")      # no group stuck at 16/16 collecting


@pytest.mark.parametrize("empty_database_url", ["postgresql"], indirect=True)
def test_two_watchers_register_one_group_on_postgresql(postgres_engine):
    groups = [f"2025-10-24T12:{minute:02d}:00" for minute in range(20)]
    _register_concurrently(postgres_engine, lambda: Session(postgres_engine), groups)


def test_two_watchers_register_one_group_on_sqlite(tmp_path):
    paths = create_pipeline_databases(tmp_path)
    engine = connect(f"sqlite:///{paths['ingest']}")
    try:
        groups = [f"2025-10-24T12:{minute:02d}:00" for minute in range(10)]
        _register_concurrently(engine, lambda: radio_session({"ingest": engine}), groups)
    finally:
        engine.dispose()
