"""The parts of a mapped run: :class:`FileScan`, :class:`MappedLoader`, :func:`batch_groups`."""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from lightcurvedb.loaders.report import LoadReport, PathArgument

__all__ = ["DEFAULT_BATCH_SIZE", "FileScan", "MappedLoader", "batch_groups"]

T = TypeVar("T")
#: Default number of files per Dask task (groups are never split, so a batch
#: holding one large group can be bigger).
DEFAULT_BATCH_SIZE = 100


@dataclass(frozen=True)
class FileScan:
    """What a worker learnt from one file's header before anything is written.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    group : hashable or None
        Files with equal groups are loaded by the same task; None when the
        header could not be read (the file is then loaded last, alone with
        the other unreadable files, and the loader reports why).
    shared : tuple
        Keys of the shared rows the file needs (for TESS, its TIC id).
    seed : hashable or None
        Natural key of the row the file creates when it is the first of its
        kind, a row the database does not keep unique (for TESS the
        observation: sector, camera, CCD, cadence). One file per seed is
        loaded before the others, by one task.
    """

    path: pathlib.Path
    group: Hashable | None
    shared: tuple[Hashable, ...] = ()
    seed: Hashable | None = None


@dataclass(frozen=True)
class MappedLoader:
    """How :func:`map_loader` drives one loader: its steps as plain functions.

    Every function must be importable by the workers (module-level), since
    Dask sends them by reference.

    Attributes
    ----------
    kind : str
        :attr:`LoadReport.kind` of the merged report.
    find_files : callable
        ``find_files(paths) -> list[pathlib.Path]``: expand directories.
    scan : callable
        ``scan(path) -> (group, shared_keys, seed)`` from the headers (see
        :class:`FileScan`); raises on an unreadable file.
    load : callable
        ``load(bind, paths, *, progress=False, **loader_kwargs) -> LoadReport``
        with ``bind`` a URL or an engine: the loader's ``load_paths`` (loads,
        commits).
    prepare : callable
        ``prepare(session, shared_keys) -> token``: create the shared rows.
    release : callable
        ``release(session, token) -> int``: delete the rows ``prepare``
        created that no loaded file used; returns how many.
    """

    kind: str
    find_files: Callable[[PathArgument], list[pathlib.Path]]
    scan: Callable[[pathlib.Path], tuple[Hashable, tuple[Hashable, ...], Hashable]]
    load: Callable[..., LoadReport]
    prepare: Callable[[Session, Sequence[Any]], Any]
    release: Callable[[Session, Any], int]


def batch_groups(groups: Mapping[Hashable, Sequence[T]], batch_size: int) -> list[list[T]]:
    """Pack groups of items into batches of about ``batch_size``, never splitting a group.

    Groups are taken in the mapping's order; a group goes into the current
    batch unless that would make it exceed ``batch_size`` (a group larger
    than ``batch_size`` becomes a batch of its own).

    Parameters
    ----------
    groups : mapping of hashable to sequence
        Items by group.
    batch_size : int
        Target number of items per batch (at least 1).

    Returns
    -------
    list of list

    Examples
    --------
    >>> batch_groups({"a": [1, 2], "b": [3], "c": [4, 5, 6]}, 3)
    [[1, 2, 3], [4, 5, 6]]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    batches: list[list[T]] = []
    current: list[T] = []
    for items in groups.values():
        if current and len(current) + len(items) > batch_size:
            batches.append(current)
            current = []
        current.extend(items)
    if current:
        batches.append(current)
    return batches


def _chunks(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[start:start + size]) for start in range(0, len(items), size)]
