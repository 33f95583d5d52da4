"""What a loader run did, file by file (:class:`LoadReport`), and why a file failed.

All of it is generic: every loader (TESS SPOC, RBH-1, DSA-110) raises
:class:`LoaderError` for a file it refuses, finds its files with
:func:`find_files` (file-name patterns widened to compressed copies by
:func:`with_compressed`; a directory that holds none of them raises
:class:`NoFilesFound`) and drives its run with :func:`run_loader`, which
returns a :class:`LoadReport`.
"""

from __future__ import annotations

import os
import pathlib
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from astropy.utils.exceptions import AstropyWarning

from lightcurvedb.core.column_rules import ColumnValueError
from lightcurvedb.core.db_errors import DB_ERRORS, describe_db_error
from lightcurvedb.loaders.progress import ProgressBar

__all__ = ["COMPRESSED_SUFFIXES", "LoadReport", "LoaderError", "NoFilesFound", "PathArgument",
           "find_files", "refuse_if_fits_warned", "run_loader", "uncompressed_name",
           "with_compressed"]

#: One path or several, as loaders accept them.
PathArgument = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]
#: Suffixes of whole-file compressed copies (gzip, bzip2) that the FITS readers
#: open like the plain file (:func:`~lightcurvedb.loaders.fitsfile.open_fits`).
COMPRESSED_SUFFIXES = (".gz", ".bz2")
#: Suffix of tile-compressed FITS images (``fpack``), read where a reader reads images.
TILE_COMPRESSED_SUFFIX = ".fz"


class LoaderError(ValueError):
    """A file cannot be loaded: unreadable, incomplete, inconsistent or conflicting.

    Parameters
    ----------
    path : path-like
        The offending file.
    reason : str
        Why it was refused, in words a user can act on.

    Examples
    --------
    >>> str(LoaderError("s1/x_lc.fits", "no 'LIGHTCURVE' HDU"))
    "s1/x_lc.fits: no 'LIGHTCURVE' HDU"
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(path, reason)
        self.path = pathlib.Path(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class NoFilesFound(LoaderError):
    """A directory given to a loader holds no file its patterns match.

    Raised by :func:`find_files` before anything is read or written, so a
    mistyped directory or files of another name fail loudly instead of
    "0 files: 0 loaded". Its message is one line naming what was looked for
    and where (``lcdb`` prints it as ``lcdb: error: ...`` and exits with
    status 1)::

        no files matching *_lc.fits, *_lc.fits.gz, ... under /data/s1 (other files
        there, e.g. /data/s1/x_tp.fits)

    Parameters
    ----------
    directories : sequence of pathlib.Path
        The directories that matched nothing (``path`` is the first).
    patterns : sequence of str
        The file-name patterns searched for.

    Attributes
    ----------
    directories : list of pathlib.Path
    patterns : tuple of str
    """

    def __init__(self, directories: Sequence[pathlib.Path], patterns: Sequence[str]) -> None:
        self.directories = [pathlib.Path(d) for d in directories]
        self.patterns = tuple(patterns)
        where = " and ".join(str(d) for d in self.directories)
        examples = [other for d in self.directories
                    for other in [next((f for f in sorted(d.rglob("*")) if f.is_file()), None)]
                    if other is not None]
        hint = f" (other files there, e.g. {examples[0]})" if examples else " (no files there)"
        super().__init__(self.directories[0], f"no files matching {', '.join(self.patterns)} "
                                              f"under {where}{hint}")

    def __str__(self) -> str:
        return self.reason


def with_compressed(patterns: Sequence[str], *, tile_compressed: bool = False
                    ) -> tuple[str, ...]:
    """Return ``patterns``, each followed by the names of its compressed copies.

    A pattern ending in ``.fits`` gains ``.fits.gz`` and ``.fits.bz2`` (read
    like the plain file by :func:`~lightcurvedb.loaders.fitsfile.open_fits`)
    and, with ``tile_compressed=True``, ``.fits.fz`` (tile-compressed images;
    only for readers of images). Other patterns are kept as they are.

    Parameters
    ----------
    patterns : sequence of str
        Base patterns, e.g. ``("*_lc.fits", "*_fast-lc.fits")``.
    tile_compressed : bool, optional
        Also match ``.fits.fz``.

    Returns
    -------
    tuple of str

    Examples
    --------
    >>> with_compressed(["*_lc.fits"])
    ('*_lc.fits', '*_lc.fits.gz', '*_lc.fits.bz2')
    >>> with_compressed(["*.fits"], tile_compressed=True)
    ('*.fits', '*.fits.gz', '*.fits.bz2', '*.fits.fz')
    """
    expanded: list[str] = []
    for pattern in patterns:
        expanded.append(pattern)
        if pattern.lower().endswith(".fits"):
            suffixes = COMPRESSED_SUFFIXES + ((TILE_COMPRESSED_SUFFIX,) if tile_compressed else ())
            expanded.extend(pattern + suffix for suffix in suffixes)
    return tuple(dict.fromkeys(expanded))


def uncompressed_name(name: str) -> str:
    """Return a file name without a gzip/bzip2 suffix: ``x_flc.fits.gz`` -> ``x_flc.fits``.

    The same data gzipped or not is the same file; loaders that identify files
    by name compare these names. Tile-compressed names (``.fits.fz``) are kept:
    such a file holds other bytes (possibly quantised pixels).

    Examples
    --------
    >>> uncompressed_name("iexo01abq_flc.fits.gz")
    'iexo01abq_flc.fits'
    >>> uncompressed_name("iexo01abq_flc.fits")
    'iexo01abq_flc.fits'
    """
    for suffix in COMPRESSED_SUFFIXES:
        if name.lower().endswith(".fits" + suffix):
            return name[:-len(suffix)]
    return name


def refuse_if_fits_warned(path: pathlib.Path, caught: Sequence[warnings.WarningMessage],
                          error: type[LoaderError] = LoaderError) -> None:
    """Refuse a FITS file if astropy warned while reading it (truncation, checksum, header).

    Parameters
    ----------
    path : pathlib.Path
        The file being read.
    caught : sequence of warnings.WarningMessage
        What :func:`warnings.catch_warnings` recorded while reading it.
    error : LoaderError subclass, optional
        The class of the error to raise (default :class:`LoaderError`).

    Raises
    ------
    LoaderError
        ``"truncated or corrupt FITS file (...)"`` with astropy's first message;
        ``"a header holds non-ASCII characters, ..."`` for those.
    """
    from_astropy = [w for w in caught if issubclass(w.category, AstropyWarning)]
    if from_astropy:
        lines = [line.strip() for line in str(from_astropy[0].message).splitlines()
                 if line.strip() and not line.startswith("There may be extra bytes")]
        detail = " ".join(lines).replace(" (note: Astropy uses zero-based indexing).", ":")
        if "non-ASCII characters" in detail:
            raise error(path, "a header holds non-ASCII characters, which FITS headers "
                              "cannot hold")
        raise error(path, f"truncated or corrupt FITS file ({detail})")


@dataclass
class LoadReport:
    """The outcome of one loader run.

    Attributes
    ----------
    kind : str
        What was loaded, for the summary line, e.g. ``"TESS SPOC light curves"``.
    loaded : list of pathlib.Path
        Files whose rows were written by this run.
    skipped : list of pathlib.Path
        Files already in the database with identical data (nothing written).
    failures : list of (pathlib.Path, str)
        Files refused, with the reason; nothing of them was written.
    """

    kind: str = "files"
    loaded: list[pathlib.Path] = field(default_factory=list)
    skipped: list[pathlib.Path] = field(default_factory=list)
    failures: list[tuple[pathlib.Path, str]] = field(default_factory=list)

    @property
    def failed(self) -> list[pathlib.Path]:
        """The refused files (:class:`pathlib.Path`), in the order they were tried."""
        return [path for path, _ in self.failures]

    @property
    def ok(self) -> bool:
        """Whether no file failed."""
        return not self.failures

    @property
    def total(self) -> int:
        """Number of files tried: loaded, skipped and failed."""
        return len(self.loaded) + len(self.skipped) + len(self.failures)

    def add_loaded(self, path: str | os.PathLike[str]) -> None:
        """Record a file whose rows were written."""
        self.loaded.append(pathlib.Path(path))

    def add_skipped(self, path: str | os.PathLike[str]) -> None:
        """Record a file that was already loaded."""
        self.skipped.append(pathlib.Path(path))

    def add_failure(self, path: str | os.PathLike[str], reason: str) -> None:
        """Record a refused file and why."""
        self.failures.append((pathlib.Path(path), reason))

    def render(self) -> str:
        """Return a plain-text summary: one count line, then one line per failed file.

        Returns
        -------
        str
            For example::

                TESS SPOC light curves: 3 files: 2 loaded, 0 skipped, 1 failed
                failed:
                  s1/x_lc.fits: no 'LIGHTCURVE' HDU
        """
        noun = "file" if self.total == 1 else "files"
        lines = [f"{self.kind}: {self.total} {noun}: {len(self.loaded)} loaded, "
                 f"{len(self.skipped)} skipped, {len(self.failures)} failed"]
        if self.failures:
            lines.append("failed:")
            lines.extend(f"  {path}: {reason}" for path, reason in self.failures)
        return "\n".join(lines)


def find_files(paths: PathArgument, patterns: Sequence[str]) -> list[pathlib.Path]:
    """Expand directories recursively to the files matching ``patterns``; drop repeats.

    Files named explicitly are kept whatever their name (missing ones too: the
    loader reports them), in the order given; a directory's matches are sorted.

    Parameters
    ----------
    paths : path-like or iterable of path-like
        Files and directories.
    patterns : sequence of str
        File-name patterns (:meth:`pathlib.Path.rglob`), e.g. from
        :func:`with_compressed`.

    Returns
    -------
    list of pathlib.Path

    Raises
    ------
    NoFilesFound
        If a directory among ``paths`` holds no matching file (even when the
        others do: every directory given should contribute files). Nothing
        has been read.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found: dict[pathlib.Path, None] = {}
    barren: list[pathlib.Path] = []
    for path in map(pathlib.Path, paths):
        if path.is_dir():
            matches = {match for pattern in patterns for match in path.rglob(pattern)
                       if match.is_file()}
            if not matches:
                barren.append(path)
            found.update(dict.fromkeys(sorted(matches)))
        else:
            found[path] = None
    if barren:
        raise NoFilesFound(barren, patterns)
    return list(found)


def run_loader(files: Sequence[pathlib.Path], load_one: Callable[[pathlib.Path], bool], *,
               kind: str, label: str = "", progress: bool = True, strict: bool = False
               ) -> LoadReport:
    """Call ``load_one`` on each file, recording the outcome, under a progress bar.

    Parameters
    ----------
    files : sequence of pathlib.Path
        The files, in order.
    load_one : callable
        Loads one file atomically (in its own SAVEPOINT); returns True if it
        wrote rows, False if the file was already loaded; raises
        :class:`LoaderError` to refuse it. A value its column does not accept
        (:class:`~lightcurvedb.core.column_rules.ColumnValueError`) and an
        error of the database during the file's write (``IntegrityError``,
        ``DataError``, ...; see :func:`~lightcurvedb.core.db_errors.describe_db_error`)
        refuse the file too, with that reason: the other files go on.
    kind : str
        :attr:`LoadReport.kind`.
    label : str, optional
        Shown before the progress bar, e.g. ``"tess"``.
    progress : bool, optional
        Show a :class:`~lightcurvedb.loaders.progress.ProgressBar` on stderr.
    strict : bool, optional
        Re-raise the first :class:`LoaderError` instead of going on.

    Returns
    -------
    LoadReport
    """
    report = LoadReport(kind=kind)
    with ProgressBar(len(files), label=label, enabled=progress) as bar:
        for path in files:
            try:
                wrote = load_one(path)
            except LoaderError as exc:
                report.add_failure(path, exc.reason)
                if strict:
                    raise
            except ColumnValueError as exc:
                report.add_failure(path, str(exc))
                if strict:
                    raise LoaderError(path, str(exc)) from exc
            except DB_ERRORS as exc:
                report.add_failure(path, describe_db_error(exc))
                if strict:
                    raise LoaderError(path, describe_db_error(exc)) from exc
            else:
                (report.add_loaded if wrote else report.add_skipped)(path)
            bar.advance()
    return report
