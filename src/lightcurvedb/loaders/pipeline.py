"""Drive a batched load: parse files in worker processes, write them a batch at a time.

:func:`run_batched` is the engine of the TESS loader (and meant for others):

* files whose name is recorded as loaded (:mod:`lightcurvedb.loaders.loaded`)
  are only hashed -- the same hash is skipped, another is refused as changed;
  the progress bar counts only the files left to load, so a resumed run shows
  what is left;
* the other files are parsed into plain records by ``parse`` (a module-level
  function, so it can run in a worker process), ``jobs`` at a time, while the
  main process writes the previous batch; at most ``batch_size`` plus a few
  per worker are in flight, so memory does not grow with the number of files;
* records are handed to ``write_batch`` ``batch_size`` at a time (which writes
  them in one go and says per file what happened), then ``after_batch`` runs
  (``load_paths`` commits there, which makes a long load resumable).
"""

from __future__ import annotations

import multiprocessing
import os
import pathlib
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from lightcurvedb.loaders.loaded import check_recorded, file_key, recorded_hashes
from lightcurvedb.loaders.progress import ProgressBar
from lightcurvedb.loaders.report import LoaderError, LoadReport

__all__ = ["DEFAULT_BATCH_SIZE", "MAX_AUTO_JOBS", "Prepared", "default_jobs", "prepare_file",
           "run_batched"]

#: Files written per batch (one transaction's worth in ``load_paths``).
DEFAULT_BATCH_SIZE = 32
#: The most worker processes ``jobs=None`` starts.
MAX_AUTO_JOBS = 8
#: Files per worker below which ``jobs=None`` stays in one process (start-up costs more).
_FILES_PER_WORKER = 16
#: Results in flight per worker (submitted, not yet consumed).
_IN_FLIGHT_PER_JOB = 4

#: ``write_batch`` returns, per record, True (written), False (already loaded) or the error.
Outcome = bool | LoaderError


@dataclass(frozen=True)
class Prepared:
    """What a worker made of one file: a record to write, a skip, or a refusal."""

    path: pathlib.Path
    record: Any = None
    skipped: bool = False
    error: str | None = None


def prepare_file(parse: Callable[[pathlib.Path], Any], path: pathlib.Path,
                 recorded: str | None) -> Prepared:
    """Hash a recorded file, or parse a new one; never raise for a bad file.

    Parameters
    ----------
    parse : callable
        Reads and validates one file into a record; raises :class:`LoaderError`.
    path : pathlib.Path
        The file.
    recorded : str or None
        The SHA-256 recorded for the file's name, or None if none is.

    Returns
    -------
    Prepared
    """
    try:
        if recorded is not None:
            check_recorded(path, recorded)
            return Prepared(path, skipped=True)
        return Prepared(path, record=parse(path))
    except LoaderError as exc:
        return Prepared(path, error=exc.reason)


def default_jobs(n_files: int) -> int:
    """Worker processes for ``jobs=None``: the usable cores (at most 8), none for a few files."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_AUTO_JOBS, n_files // _FILES_PER_WORKER))


@contextmanager
def _pool(jobs: int) -> Iterator[Executor | None]:
    if jobs <= 1:
        yield None
        return
    methods = multiprocessing.get_all_start_methods()
    # fork: workers start in milliseconds with astropy already imported
    context = multiprocessing.get_context("fork" if "fork" in methods and
                                          sys.platform != "darwin" else None)
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _prepared(pool: Executor | None, files: Sequence[pathlib.Path], recorded: dict[str, str],
              parse: Callable[[pathlib.Path], Any], in_flight: int) -> Iterator[Prepared]:
    """Yield each file's :class:`Prepared`, in order, with at most ``in_flight`` pending."""
    if pool is None:
        for path in files:
            yield prepare_file(parse, path, recorded.get(file_key(path)))
        return
    pending: deque[Future[Prepared]] = deque()
    for path in files:
        pending.append(pool.submit(prepare_file, parse, path, recorded.get(file_key(path))))
        if len(pending) >= in_flight:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def run_batched(session: Session, files: Sequence[pathlib.Path], *, loader: str,
                parse: Callable[[pathlib.Path], Any],
                write_batch: Callable[[list[Any]], list[tuple[pathlib.Path, Outcome]]],
                after_batch: Callable[[], None] | None = None, kind: str, jobs: int | None = 1,
                batch_size: int = DEFAULT_BATCH_SIZE, progress: bool = True,
                strict: bool = False) -> LoadReport:
    """Load ``files``: skip recorded ones by hash, parse the rest, write them in batches.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        Where the records of loaded files are looked up.
    files : sequence of pathlib.Path
        The files, in order.
    loader : str
        Name the files are recorded under (``loaded_file.loader``).
    parse : callable
        A module-level function: path -> record (raises :class:`LoaderError`).
    write_batch : callable
        Writes a list of records; returns ``(path, outcome)`` per record, the
        outcome True (written), False (already loaded) or a :class:`LoaderError`.
    after_batch : callable, optional
        Called after each batch is written (e.g. ``session.commit``).
    kind : str
        :attr:`LoadReport.kind`.
    jobs : int or None, optional
        Worker processes parsing files (1: parse in this process; None:
        :func:`default_jobs`).
    batch_size : int, optional
        Records per ``write_batch`` call.
    progress : bool, optional
        Show a progress bar over the files left to load.
    strict : bool, optional
        Raise the first :class:`LoaderError` instead of going on.

    Returns
    -------
    LoadReport
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    report = LoadReport(kind=kind)
    recorded = recorded_hashes(session, loader, files)
    left = sum(file_key(path) not in recorded for path in files)
    jobs = default_jobs(left) if jobs is None else max(1, int(jobs))
    batch: list[Any] = []

    def fail(path: pathlib.Path, reason: str) -> None:
        report.add_failure(path, reason)
        if strict:
            raise LoaderError(path, reason)

    with ProgressBar(left, label=loader, enabled=progress) as bar:
        if bar.active and len(files) > left:
            bar.stream.write(f"{loader}: {len(files) - left} of {len(files)} files already "
                             f"loaded (checking their hashes); {left} left to load\n")

        def flush() -> None:
            outcomes = write_batch(batch)
            if after_batch is not None:
                after_batch()
            batch.clear()
            for path, outcome in outcomes:
                if isinstance(outcome, LoaderError):
                    fail(path, outcome.reason)
                else:
                    (report.add_loaded if outcome else report.add_skipped)(path)
            bar.advance(len(outcomes))

        with _pool(jobs) as pool:
            # a batch being written and the next one being parsed meanwhile
            in_flight = batch_size + jobs * _IN_FLIGHT_PER_JOB
            for item in _prepared(pool, files, recorded, parse, in_flight):
                if item.error is not None:
                    fail(item.path, item.error)
                    if file_key(item.path) not in recorded:
                        bar.advance()
                elif item.skipped:
                    report.add_skipped(item.path)
                else:
                    batch.append(item.record)
                    if len(batch) >= batch_size:
                        flush()
            if batch:
                flush()
    return report
