"""Load the key column of FITS catalogs as core :class:`~lightcurvedb.models.Target` rows.

The service behind ``lcdb load catalog``: each file's key column (DESI's
``TARGETID``) becomes :attr:`Target.name <lightcurvedb.models.Target.name>` in
a :class:`~lightcurvedb.models.MissionCatalog`, through
:func:`~lightcurvedb.loaders.catalog.load_fits_catalog` (validated first,
chunked, one SAVEPOINT per file, a stored report per file)::

    with lightcurvedb.session() as s:
        run = load_catalog_targets(s, ["fastspec-iron.fits"], catalog="DESI DR1",
                                   mission="DESI")
    print(run.render())

The same key is the same target. A key already in the catalog is that
target: it is neither duplicated nor an error, and only the file's new keys
become targets (``existing="refuse"`` refuses such a file instead). A table
with an ``EXPID`` column (a DESI spectra file's ``FIBERMAP``, a coadd's
``EXP_FIBERMAP``) lists a target once per exposure: there a TARGETID may
repeat, once per exposure, and its rows are one target. See
:doc:`/loading_catalogs`.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from lightcurvedb.loaders.catalog import CatalogValidationError, load_fits_catalog
from lightcurvedb.loaders.catalog_aliases import (
    alias_columns,
    check_aliases,
    file_aliases,
    write_aliases,
)
from lightcurvedb.loaders.catalog_report import CatalogLoadReport
from lightcurvedb.loaders.report import (
    LoaderError,
    LoadReport,
    PathArgument,
    find_files,
    with_compressed,
)
from lightcurvedb.missions._common import ensure_catalog, ensure_mjd_utc_mission
from lightcurvedb.models import MissionCatalog, Target

__all__ = ["DESI_POSITIONS", "POSITION_ATTRIBUTES", "CatalogRun", "ensure_target_catalog",
           "load_catalog_targets", "position_columns"]

#: The :class:`~lightcurvedb.models.Target` attributes a catalog's columns may fill.
POSITION_ATTRIBUTES = ("ra", "dec", "epoch", "pm_ra", "pm_dec")
#: A DESI ``FIBERMAP``'s position columns (``positions="desi"``): TARGET_RA/TARGET_DEC
#: (deg, ICRS) at REF_EPOCH (Julian year), PMRA/PMDEC (mas/yr).
DESI_POSITIONS = {"TARGET_RA": "ra", "TARGET_DEC": "dec", "REF_EPOCH": "epoch",
                  "PMRA": "pm_ra", "PMDEC": "pm_dec"}


@dataclass
class CatalogRun:
    """The outcome of loading several catalog files: one report per file read, and a summary.

    Attributes
    ----------
    files : LoadReport
        Files loaded, skipped and failed (with reasons).
    reports : list of CatalogLoadReport
        The validation report of every file that got as far as being validated.
    aliases_added : int
        :class:`~lightcurvedb.models.TargetAlias` rows the run recorded.

    Examples
    --------
    The last line of :meth:`render` after two files sharing 5 TARGETIDs::

        targets: 35 new, 5 existing
        catalog DESI DR1 targets: 2 files: 2 loaded, 0 skipped, 0 failed
    """

    files: LoadReport
    reports: list[CatalogLoadReport] = field(default_factory=list)
    aliases_added: int = 0

    @property
    def ok(self) -> bool:
        """Whether no file failed."""
        return self.files.ok

    @property
    def new_targets(self) -> int:
        """Targets created by this run (the rows its loaded files wrote)."""
        return sum(r.rows_loaded for r in self.reports if r.loaded and not r.skipped)

    @property
    def existing_targets(self) -> int:
        """Keys of this run's loaded files that were targets already (counted per file)."""
        return sum(r.existing_keys for r in self.reports if r.loaded and not r.skipped)

    def render(self) -> str:
        """Return every file's report, a blank line apart, then the summary of the run.

        The summary starts with the targets created and found: ``targets: 35 new,
        5 existing``.
        """
        parts = [report.render() for report in self.reports]
        totals = f"targets: {self.new_targets:,} new, {self.existing_targets:,} existing"
        if self.aliases_added:
            totals += f"; {self.aliases_added:,} new aliases"
        return "\n\n".join([*parts, f"{totals}\n{self.files.render()}"])


def ensure_target_catalog(session: Session, catalog: str, mission: str) -> MissionCatalog:
    """Return the catalog called ``catalog``, creating it (and ``mission``) if absent.

    A mission created here records times as MJD in UTC (time format name
    ``<mission>_mjd``, lower case), as DESI does.

    Raises
    ------
    ValueError
        If the catalog exists under another mission.
    """
    host = ensure_mjd_utc_mission(session, mission, f"{mission} (created by lcdb load catalog)",
                                  time_format_name=f"{mission.lower()}_mjd")
    found = ensure_catalog(session, host, catalog, f"{catalog} targets loaded from FITS")
    if found.host_mission_id != host.id:
        raise ValueError(f"catalog {catalog!r} belongs to mission "
                         f"{found.host_mission.name!r}, not {mission!r}")
    return found


def position_columns(positions: str | Mapping[str, str] | None) -> dict[str, str]:
    """Return FITS column -> Target attribute for a ``positions`` option.

    Parameters
    ----------
    positions : str, mapping or None
        ``"desi"`` (:data:`DESI_POSITIONS`), a mapping of FITS columns to
        attributes of :data:`POSITION_ATTRIBUTES`, or a string of
        ``COLUMN=attribute`` pairs separated by commas
        (``"RA=ra,DEC=dec"``); None for none.

    Raises
    ------
    ValueError
        For an unknown attribute, or ``ra`` without ``dec`` (one line).
    """
    if positions is None:
        return {}
    if isinstance(positions, str):
        if positions.lower() == "desi":
            return dict(DESI_POSITIONS)
        pairs = [item.partition("=") for item in positions.split(",") if item.strip()]
        if any(not sep or not column.strip() for column, sep, _ in pairs):
            raise ValueError(f"positions {positions!r}: expected 'desi' or COLUMN=attribute "
                             "pairs separated by commas, e.g. 'RA=ra,DEC=dec'")
        positions = {column.strip(): attribute.strip() for column, _, attribute in pairs}
    unknown = sorted(set(positions.values()) - set(POSITION_ATTRIBUTES))
    if unknown:
        raise ValueError(f"positions: unknown target attribute(s) {', '.join(unknown)} "
                         f"(known: {', '.join(POSITION_ATTRIBUTES)})")
    if ("ra" in positions.values()) != ("dec" in positions.values()):
        raise ValueError("positions: ra and dec go together")
    return dict(positions)


def load_catalog_targets(session: Session, paths: PathArgument, *, catalog: str,
                         mission: str, key: str = "TARGETID", designation: str | None = None,
                         positions: str | Mapping[str, str] | None = None,
                         aliases: str | Mapping[str, str] | None = None,
                         hdu: int | str = 1, chunk_rows: int = 100_000,
                         progress: bool = False, strict: bool = True,
                         patterns: Sequence[str] = with_compressed(("*.fits",)),
                         existing: str = "reuse", exposure: str | None = "EXPID"
                         ) -> CatalogRun:
    """Load each file's ``key`` column as the targets of catalog ``catalog``.

    Every file is validated (key unique in the file -- per exposure in a
    per-exposure table --, integers that fit ``Target.name``) and written
    atomically; a refused file leaves only its stored report. The session is
    flushed, never committed.

    The rules:

    * **The same key is the same target.** A key already in the catalog is
      that target (not duplicated, not an error); the file's other keys become
      new targets. The report counts both (``95 new, 5 existing``).
    * **Designation** (with ``designation``): an existing target whose
      designation is NULL gets the file's; one whose designation differs from
      the file's refuses the file (the catalog and the file disagree about what
      the number names); a NULL in the file leaves the stored one alone.
    * **Per-exposure tables.** A table with the ``exposure`` column lists a
      target once per exposure (a DESI spectra file's ``FIBERMAP``, a coadd's
      ``EXP_FIBERMAP``): its key must be unique per exposure (TARGETID and
      EXPID together), the rows of one TARGETID are one target, and they must
      agree on the designation. A table without the column is a catalog: a
      TARGETID repeated in it refuses the file, as before.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        A session on a database at the newest migration.
    paths : path-like or iterable of path-like
        FITS files, or directories searched recursively for ``patterns``.
    catalog, mission : str
        The :class:`~lightcurvedb.models.MissionCatalog` and its host mission,
        created if absent (see :func:`ensure_target_catalog`).
    key : str, optional
        The integer FITS column that identifies a target (``TARGETID``).
    designation : str, optional
        A text FITS column loaded into ``Target.designation``.
    positions : str or mapping, optional
        Columns giving the targets' positions (see :func:`position_columns`):
        ``"desi"`` loads a FIBERMAP's ``TARGET_RA``, ``TARGET_DEC``,
        ``REF_EPOCH``, ``PMRA`` and ``PMDEC``. They follow the designation's
        rule: an existing target's NULL is filled, a different stored value
        refuses the file.
    aliases : str or mapping, optional
        Alias catalog -> FITS column (or ``"Gaia DR3=GAIA_ID;2MASS=TMASS_ID"``):
        each row's value becomes its target's
        :class:`~lightcurvedb.models.TargetAlias` in that catalog (see
        :mod:`lightcurvedb.loaders.catalog_aliases`). An alias already given to
        another target refuses the file; blank and zero values name none. A
        column may take a condition on another, ``"Gaia DR2=REF_ID[REF_CAT=G2]"``:
        only rows whose ``REF_CAT`` is ``G2`` name an alias.
    hdu, chunk_rows, progress, strict
        As for :func:`~lightcurvedb.loaders.catalog.load_fits_catalog`.
    patterns : sequence of str, optional
        File-name patterns of directory searches (default ``*.fits``,
        ``*.fits.gz``, ``*.fits.bz2``); a directory that matches none raises
        :class:`~lightcurvedb.loaders.report.NoFilesFound`.
    existing : {"reuse", "refuse"}, optional
        ``"refuse"``: a file with any key already in the catalog is refused
        (``5 key(s) of TARGETID are already in target [catalog_id=1] ...``),
        nothing but its report written.
    exposure : str or None, optional
        The column that makes a table one row per exposure (DESI's ``EXPID``,
        the default); None treats every table as a catalog.

    Returns
    -------
    CatalogRun
    """
    target_catalog = ensure_target_catalog(session, catalog, mission)
    columns = ({key: "name"} | ({designation: "designation"} if designation else {})
               | position_columns(positions))
    run = CatalogRun(LoadReport(kind=f"catalog {catalog} targets"))
    alias_map = alias_columns(aliases)
    for path in find_files(paths, patterns):
        try:
            # aliases are checked before anything is written, recorded after the targets
            found = file_aliases(pathlib.Path(path), hdu, key, alias_map) if alias_map else {}
            new_aliases = check_aliases(session, pathlib.Path(path), target_catalog.id, found)
            report = load_fits_catalog(session, path, Target, columns=columns, key=key, hdu=hdu,
                                       chunk_rows=chunk_rows, progress=progress,
                                       strict=strict,
                                       constants={"catalog_id": target_catalog.id},
                                       existing=existing, exposure=exposure)
            run.aliases_added += write_aliases(session, target_catalog.id, new_aliases)
        except CatalogValidationError as exc:
            run.reports.append(exc.report)
            run.files.add_failure(path, exc.reason)
        except LoaderError as exc:
            run.files.add_failure(pathlib.Path(path), exc.reason)
        else:
            run.reports.append(report)
            (run.files.add_skipped if report.skipped else run.files.add_loaded)(path)
    return run
