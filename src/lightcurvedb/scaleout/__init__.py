"""Run a loader over a Dask cluster: :func:`map_loader`.

Install the extra (``pip install 'lightcurvedb[dask]'``), start or connect to a
cluster, and map a loader over many files; each Dask task opens its own engine
in its worker process, loads one batch of files with the ordinary loader and
returns its :class:`~lightcurvedb.loaders.LoadReport`; the reports merge into
one::

    from distributed import Client
    from lightcurvedb.scaleout import map_loader

    with Client("tcp://scheduler:8786") as client:
        report = map_loader(client, "tess", ["/data/tess/s0001"],
                            "postgresql+psycopg://lcdb@db/lcdb")
    print(report.render())

A run has six steps, so that workers writing at the same time never create
the same row twice nor change the schema under each other:

1. the schema is migrated once, by one task (``migrate=True``);
2. the workers read each file's headers (:attr:`MappedLoader.scan`): its
   *group* (for TESS the ``(SECTOR, CAMERA, CCD)`` of the observation), the
   shared rows it needs (its TIC id) and its *seed* (the observation's natural
   key, cadence included);
3. one task creates the shared rows all files need (:attr:`MappedLoader.prepare`:
   the TESS mission, TIC catalog, CCD tree, SAP/PDC definitions and targets);
4. one task loads one file per seed, committing each, so every observation
   (and, on PostgreSQL, its partitions, whose creation locks the partitioned
   tables) exists before the parallel writes start;
5. the other files are loaded in batches that never split a group, so all
   files of one observation are written by the same task (the database does
   not enforce an observation's natural key); files whose headers could not
   be read are loaded last, in one task, and refused by the loader with its
   usual reason;
6. one task removes the targets step 3 created that no file used
   (:attr:`MappedLoader.release`), so the database ends as a sequential run
   would leave it.

See :doc:`/scaleout`. :mod:`distributed` is imported only by the caller's
:class:`~distributed.Client`; this module imports nothing from Dask.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from lightcurvedb.core.engine import connect
from lightcurvedb.loaders.report import LoadReport, PathArgument
from lightcurvedb.scaleout.plan import DEFAULT_BATCH_SIZE, FileScan, MappedLoader, batch_groups
from lightcurvedb.scaleout.tess import TESS_LIGHTCURVES, tess_observation_key

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["DEFAULT_BATCH_SIZE", "LOADERS", "TESS_LIGHTCURVES", "FileScan", "MappedLoader",
           "batch_groups", "map_loader", "tess_observation_key"]

T = TypeVar("T")

#: Loaders :func:`map_loader` knows by name: ``{"tess": TESS_LIGHTCURVES}``.
#:
#: :meta hide-value:
LOADERS: dict[str, MappedLoader] = {"tess": TESS_LIGHTCURVES}


def _chunks(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[start:start + size]) for start in range(0, len(items), size)]


# --- what the workers run ---------------------------------------------------------------------

def _migrate(url: str | URL | None) -> None:
    from lightcurvedb import migrations

    migrations.upgrade(url)


def _scan_batch(paths: Sequence[pathlib.Path], loader: MappedLoader,
                group_by: Callable[[pathlib.Path], Hashable] | None) -> list[FileScan]:
    scans = []
    for path in paths:
        try:
            group, shared, seed = loader.scan(path)
            if group_by is not None:
                group = group_by(path)
        except Exception:   # unreadable: the loader will say why, in the last task
            scans.append(FileScan(path, None))
        else:
            scans.append(FileScan(path, group, tuple(shared), seed))
    return scans


def _in_session(url: str | URL | None, work: Callable[[Session], T]) -> T:
    engine = connect(url)
    try:
        with Session(engine) as session, session.begin():
            return work(session)
    finally:
        engine.dispose()


def _prepare(loader: MappedLoader, url: str | URL | None, shared: Sequence[Any]) -> Any:
    return _in_session(url, lambda session: loader.prepare(session, shared))


def _release(loader: MappedLoader, url: str | URL | None, token: Any) -> int:
    return _in_session(url, lambda session: loader.release(session, token))


def _load_batch(paths: Sequence[pathlib.Path], loader: MappedLoader, url: str | URL | None,
                loader_kwargs: dict[str, Any]) -> LoadReport:
    return loader.load(url, list(paths), progress=False, **loader_kwargs)


def _load_seeds(candidates: Sequence[Sequence[pathlib.Path]], loader: MappedLoader,
                url: str | URL | None, loader_kwargs: dict[str, Any]) -> LoadReport:
    """Load files one at a time until one of each candidate list is in the database."""
    report = LoadReport(kind=loader.kind)
    engine = connect(url)
    try:
        for files in candidates:
            for path in files:
                one = loader.load(engine, [path], progress=False, **loader_kwargs)
                report.loaded += one.loaded
                report.skipped += one.skipped
                report.failures += one.failures
                if one.loaded or one.skipped:
                    break
    finally:
        engine.dispose()
    return report


# --- the driver -------------------------------------------------------------------------------

def _resolve(loader: MappedLoader | str) -> MappedLoader:
    if isinstance(loader, MappedLoader):
        return loader
    try:
        return LOADERS[loader]
    except KeyError:
        raise ValueError(f"unknown loader {loader!r}; known: {', '.join(sorted(LOADERS))}"
                         ) from None


def _url_argument(url: str | URL | None) -> str | None:
    return url.render_as_string(hide_password=False) if isinstance(url, URL) else url


def _outcomes(futures: Iterable[Any], batches: Sequence[Sequence[pathlib.Path]]
              ) -> list[tuple[Sequence[pathlib.Path], LoadReport | BaseException]]:
    outcomes: list[tuple[Sequence[pathlib.Path], LoadReport | BaseException]] = []
    for future, batch in zip(futures, batches, strict=True):
        try:
            outcomes.append((batch, future.result()))
        except Exception as exc:   # the batch's transaction was rolled back
            outcomes.append((batch, exc))
    return outcomes


def map_loader(client: Client, loader: MappedLoader | str, paths: PathArgument,
               url: str | URL | None = None, *,
               group_by: Callable[[pathlib.Path], Hashable] | None = None,
               batch_size: int = DEFAULT_BATCH_SIZE, migrate: bool = True,
               **loader_kwargs: Any) -> LoadReport:
    """Load files with ``loader`` over a Dask cluster and merge the reports.

    Parameters
    ----------
    client : distributed.Client
        A client of the cluster. The workers must see ``paths`` (a shared file
        system) and reach the database; the client needs neither.
    loader : MappedLoader or str
        A :class:`MappedLoader`, or a name: ``"tess"`` for
        :data:`TESS_LIGHTCURVES`.
    paths : path-like or iterable of path-like
        Files, or directories searched (on a worker) as the loader does.
    url : str or sqlalchemy.engine.URL, optional
        The database. Each task opens its own engine from it with
        :func:`lightcurvedb.connect` in its worker process; when None the
        workers resolve it themselves (``LIGHTCURVEDB_URL`` or their
        ``db.conf``), which keeps the password out of the task graph.
    group_by : callable, optional
        ``group_by(path) -> hashable``, run on the workers, replacing the
        loader's grouping (:func:`tess_observation_key` for TESS). Files of
        one group are always loaded by the same task; any two files that may
        create the same unconstrained row (for TESS: the same observation)
        must be in one group.
    batch_size : int, optional
        Files per task, for the header scan and the load (groups are never
        split; see :func:`batch_groups`).
    migrate : bool, optional
        Upgrade the database to the newest migration first, in one task
        (the default). With False the database must already be there.
    **loader_kwargs
        Passed to the loader (e.g. ``strict=True``); ``progress`` is always
        False on the workers.

    Returns
    -------
    LoadReport
        Loaded, skipped and failed files in the order the loader found them.
        A batch whose task raised something other than a
        :class:`~lightcurvedb.loaders.LoaderError` wrote nothing (its
        transaction was rolled back); its files are reported as failed with
        the error, and a new run loads them.

    Raises
    ------
    LoaderError
        With ``strict=True``, the first refused file (after the other batches
        have finished; what they loaded stays committed).
    ValueError
        For an unknown loader name or a ``batch_size`` below 1.
    """
    spec = _resolve(loader)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    url_arg = _url_argument(url)
    if migrate:
        client.submit(_migrate, url_arg, pure=False).result()
    files = client.submit(spec.find_files, paths, pure=False).result()
    scans: list[FileScan] = []
    scan_futures = client.map(_scan_batch, _chunks(files, batch_size), loader=spec,
                              group_by=group_by, pure=False)
    for batch_scans in client.gather(scan_futures):
        scans.extend(batch_scans)
    groups: dict[Hashable, list[pathlib.Path]] = {}
    seeds: dict[Hashable, list[pathlib.Path]] = {}
    unreadable: list[pathlib.Path] = []
    shared: set[Hashable] = set()
    for scan in scans:
        if scan.group is None:
            unreadable.append(scan.path)
            continue
        groups.setdefault(scan.group, []).append(scan.path)
        shared.update(scan.shared)
        if scan.seed is not None:
            seeds.setdefault(scan.seed, []).append(scan.path)
    token = client.submit(_prepare, spec, url_arg, sorted(shared, key=repr), pure=False).result()
    try:
        outcomes = _load(client, spec, url_arg, groups, seeds, unreadable, batch_size,
                         loader_kwargs)
    finally:
        client.submit(_release, spec, url_arg, token, pure=False).result()
    return _merge(spec.kind, files, outcomes, strict=bool(loader_kwargs.get("strict")))


def _load(client: Client, spec: MappedLoader, url: str | None,
          groups: dict[Hashable, list[pathlib.Path]], seeds: dict[Hashable, list[pathlib.Path]],
          unreadable: list[pathlib.Path], batch_size: int, loader_kwargs: dict[str, Any]
          ) -> list[tuple[Sequence[pathlib.Path], LoadReport | BaseException]]:
    outcomes: list[tuple[Sequence[pathlib.Path], LoadReport | BaseException]] = []
    if seeds:   # one task creates every seeded row (an observation, its partitions) first
        seeded = client.submit(_load_seeds, list(seeds.values()), spec, url, loader_kwargs,
                               pure=False)
        candidates = [path for files in seeds.values() for path in files]
        outcomes += _outcomes([seeded], [candidates])
        result = outcomes[0][1]
        if isinstance(result, BaseException):    # nothing else may run without the seeds
            rest = [p for files in groups.values() for p in files if p not in candidates]
            return [(candidates, result), (rest + unreadable, result)]
        done = _tried(result)
        groups = {key: [p for p in files if p not in done] for key, files in groups.items()}
    batches = batch_groups({key: files for key, files in groups.items() if files}, batch_size)
    futures = client.map(_load_batch, batches, loader=spec, url=url,
                         loader_kwargs=loader_kwargs, pure=False)
    outcomes += _outcomes(futures, batches)
    if unreadable:   # after the others: whatever these create, nobody else does
        last = client.submit(_load_batch, unreadable, spec, url, loader_kwargs, pure=False)
        outcomes += _outcomes([last], [unreadable])
    return outcomes


def _tried(outcome: LoadReport | BaseException) -> set[pathlib.Path]:
    if isinstance(outcome, BaseException):
        return set()
    return {*outcome.loaded, *outcome.skipped, *outcome.failed}


def _merge(kind: str, files: Sequence[pathlib.Path],
           outcomes: Sequence[tuple[Sequence[pathlib.Path], LoadReport | BaseException]], *,
           strict: bool) -> LoadReport:
    position = {path: index for index, path in enumerate(files)}
    loaded: list[pathlib.Path] = []
    skipped: list[pathlib.Path] = []
    failures: list[tuple[pathlib.Path, str]] = []
    for batch, outcome in outcomes:
        if isinstance(outcome, BaseException):
            if strict:
                raise outcome
            reason = (f"not loaded: its batch of {len(batch)} files failed and was rolled back "
                      f"({type(outcome).__name__}: {outcome})")
            failures.extend((path, reason) for path in batch)
        else:
            loaded.extend(outcome.loaded)
            skipped.extend(outcome.skipped)
            failures.extend(outcome.failures)
    report = LoadReport(kind=kind)
    report.loaded = sorted(loaded, key=lambda path: position.get(path, len(files)))
    report.skipped = sorted(skipped, key=lambda path: position.get(path, len(files)))
    report.failures = sorted(failures, key=lambda item: position.get(item[0], len(files)))
    return report
