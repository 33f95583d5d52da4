"""A small, realistic TESS mission to try lightcurvedb on: ``lcdb demo``.

:func:`build_demo` fills a database with two shortened TESS sectors of
2-minute photometry for five TIC targets, stored as :mod:`lightcurvedb.loaders.tess`
stores SPOC files: the :mod:`~lightcurvedb.missions.tess` mission, catalog and
instrument tree, a ``TESSObservation`` per sector, barycentric times, raw ``SAP``
and co-trended ``PDCSAP`` light curves (e-/s) linked by lineage, and
``TESSQualityFlagArray`` flags. It is idempotent (every row is looked up by its
natural key first); the data are synthetic but deterministic.

Examples
--------
>>> print(install_demo("sqlite:///demo.sqlite3").render())  # doctest: +SKIP
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session

from lightcurvedb import migrations
from lightcurvedb.core.engine import connect
from lightcurvedb.core.engine import session as open_session
from lightcurvedb.loaders.tess import FLUX_UNIT, PDC_METHOD, SAP_SOURCE, record_position
from lightcurvedb.missions.tess import (
    TESS_QUALITY_BITS,
    TESSObservation,
    TESSQualityFlagArray,
    create_tess_instruments,
    ensure_tess_mission,
    tess_ccd,
)
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

__all__ = ["DEMO_POSITIONS", "DEMO_TARGETS", "DemoRow", "DemoSummary", "build_demo", "install_demo",
           "rbh1_next_steps"]

#: TIC id -> (barycentric offset in days, SAP flux in e-/s, relative noise per cadence).
DEMO_TARGETS = {261136679: (-0.00212, 1.9e6, 2e-4), 25155310: (0.00347, 1.6e4, 8e-4),
                307210830: (-0.00401, 4.1e4, 6e-4), 220479565: (0.00125, 8.3e3, 1e-3),
                149603524: (0.00289, 3.3e4, 7e-4)}
#: TIC id -> (RA, Dec in deg at J2000.0, TESS magnitude): illustrative positions in the
#: southern continuous viewing zone, as synthetic as the photometry.
DEMO_POSITIONS = {261136679: (84.2912, -80.4691, 5.105), 25155310: (63.1875, -69.2271, 10.117),
                  307210830: (124.5319, -68.3130, 9.393), 220479565: (88.0440, -66.1890, 11.402),
                  149603524: (87.1402, -63.9884, 9.627)}
_TRANSIT = {"tic": 25155310, "t0": 1325.45, "period": 2.885, "depth": 0.01, "duration": 0.12}
#: (sector, camera, CCD, start in BTJD, first cadence number).
_SECTORS = ((1, 1, 1, 1325.29, 70445), (2, 2, 3, 1354.10, 91188))
_N_CADENCES, _GAP_CADENCES, _CADENCE_SECONDS, _SEED = 1000, 720, 120, 20180725
#: The TESS quality bits the demo sets (see :data:`~lightcurvedb.missions.tess.TESS_QUALITY_BITS`).
_BITS = {name: TESS_QUALITY_BITS.value(name)
         for name in ("attitude_tweak", "coarse_point", "desaturation", "manual_exclude")}
_TABLES = (Mission, MissionCatalog, Target, Instrument, Observation, PhotometricSource,
           ProcessingMethod, TargetSpecificTime, DataSet, DataSetHierarchy, QualityFlagArray)


@dataclass(frozen=True)
class DemoRow:
    """One demo light-curve pair: a target in a sector.

    Attributes
    ----------
    tic_id, sector : int
        TESS Input Catalog number of the target, and TESS sector.
    n_cadences : int
        Number of cadences in the light curves.
    raw_median, processed_median : float
        NaN-ignoring median of the SAP and PDCSAP flux (e-/s).
    n_flagged : int
        Cadences with any quality bit set.
    lineage : str
        The processing chain, e.g. ``"SAP -> PDCSAP"``.
    """

    tic_id: int
    sector: int
    n_cadences: int
    raw_median: float
    processed_median: float
    n_flagged: int
    lineage: str


@dataclass
class DemoSummary:
    """What :func:`build_demo` left in the database.

    Attributes
    ----------
    url : str
        The database URL, password hidden.
    counts : dict of str to int
        Rows per table after the run.
    created : dict of str to int
        Rows per table created by this run (all zero on a repeated run).
    rows : list of DemoRow
        One entry per target and sector: sector by sector, targets in
        :data:`DEMO_TARGETS` order.
    """

    url: str
    counts: dict[str, int]
    created: dict[str, int]
    rows: list[DemoRow] = field(default_factory=list)

    @property
    def created_anything(self) -> bool:
        """bool: Whether this run added any row."""
        return any(self.created.values())

    @property
    def example_tic(self) -> int:
        """int: The TIC id the next steps use: the demo's transiting target, if present."""
        tics = [row.tic_id for row in self.rows]
        transit = int(_TRANSIT["tic"])
        return transit if transit in tics else tics[0]

    def next_steps(self, url: str | URL | None = None) -> str:
        """Return the "Next steps" text: commands to try on the demo database.

        ``lcdb lc show``, ``lcdb lc plot``, ``lcdb lc export`` and a Python
        one-liner with :func:`lightcurvedb.lightcurves`, on :attr:`example_tic`;
        each line can be pasted into a POSIX shell as it is (what follows
        ``#`` is a comment).

        Parameters
        ----------
        url : str or sqlalchemy.engine.URL, optional
            The database the commands should read when it is not the one
            lightcurvedb finds by itself (``lcdb --url``): added to every
            command, its password (if any) shown as ``***``.

        Returns
        -------
        str
        """
        if not self.rows:
            return "Next steps: lcdb lc show TIC <id> (the demo has no light curves)"
        tic = self.example_tic
        shown, option = _url_option(url)
        bind = "" if shown is None else json.dumps(shown)
        code = (f"import lightcurvedb; from sqlalchemy.orm import Session; "
                f"print(lightcurvedb.lightcurves(Session(lightcurvedb.connect({bind})), "
                f"tic={tic}, best=True))")
        steps = [
            (f"lcdb lc show TIC {tic}{option}", "one line per light curve"),
            (f"lcdb lc show TIC {tic} --sector 1 --processing PDC --head 5{option}",
             "and its first cadences"),
            (f"lcdb lc plot TIC {tic} -o tic{tic}.png{option}",
             "needs the plot extra: pip install '.[plot]'"),
            (f"lcdb lc export TIC {tic} -o tic{tic}.ecsv{option}", "also .csv, .fits, .parquet"),
            (f"lcdb targets cone 'TIC {tic}' 10deg{option}", "the targets around it"),
        ]
        width = max(len(command) for command, _ in steps)
        lines = [f"Next steps: TIC {tic} in this database" +
                 (" has transits" if tic == _TRANSIT["tic"] else "")]
        lines += [f"  {command.ljust(width)}  # {note}" for command, note in steps]
        lines += ["  # the same from Python:", f"  python -c {shlex.quote(code)}"]
        if shown is not None and "***" in shown:
            lines.append("  (the password is shown as ***: put yours in its place)")
        return "\n".join(lines)

    def render(self) -> str:
        """Return the summary as a plain-text report with aligned tables.

        Returns
        -------
        str
            The database URL, rows per table, light-curve pairs and quality bits.
        """
        counts = _table(("Table", "Rows"), [(k, str(v)) for k, v in self.counts.items()])
        curves = _table(
            ("TIC id", "Sector", "Cadences", "SAP median", "PDCSAP median", "Flagged", "Lineage"),
            [(str(r.tic_id), str(r.sector), str(r.n_cadences), f"{r.raw_median:.2f}",
              f"{r.processed_median:.2f}", str(r.n_flagged), r.lineage) for r in self.rows],
            left=(6,))
        bits = ", ".join(f"{name} ({value})" for name, value in _BITS.items())
        return "\n".join(["lightcurvedb demo: TESS sectors 1-2, TIC targets",
                          f"Database: {self.url}", "", counts, "", curves, "",
                          f"Quality bits set: {bits}"])


def _url_option(url: str | URL | None) -> tuple[str | None, str]:
    """Return the URL as the next steps show it (password hidden) and its ``--url``."""
    if url is None:
        return None, ""
    parsed = make_url(url)
    shown = (parsed.render_as_string(hide_password=True) if parsed.password
             else url if isinstance(url, str) else parsed.render_as_string())
    return shown, f" --url {shlex.quote(shown)}"


def rbh1_next_steps(url: str | URL | None = None) -> str:
    """Return the "Next steps" text ``lcdb demo rbh1`` ends with.

    Parameters
    ----------
    url : str or sqlalchemy.engine.URL, optional
        As for :meth:`DemoSummary.next_steps`.

    Returns
    -------
    str
    """
    _, option = _url_option(url)
    return "\n".join([
        "Next steps:",
        f"  lcdb rbh1 dashboard rbh1-dashboard.png{option}  # six validation panels "
        "(needs the plot extra: pip install '.[plot]')",
        f"  lcdb db current{option}  # the schema revisions and extensions in use"])


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]], left: tuple[int, ...] = (0,)
           ) -> str:
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) if i in left else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths),
                      *(line(row) for row in rows)])


def _get_or_create(db: Session, model: type[Any], lookup: dict[str, Any], **values: Any) -> Any:
    """Return the ``model`` row matching ``lookup`` (None matches NULL), creating it if absent."""
    found = db.scalars(select(model).filter_by(**lookup)).one_or_none()
    if found is None:
        found = model(**lookup, **values)
        db.add(found)
        db.flush()
    return found


def _counts(db: Session) -> dict[str, int]:
    return {m.__tablename__: db.scalar(select(func.count()).select_from(m.__table__)) or 0
            for m in _TABLES}


def _cadences(first: int) -> npt.NDArray[np.int64]:
    """Cadence numbers from ``first``, with a downlink gap halfway."""
    index = np.arange(_N_CADENCES, dtype=np.int64)
    return first + index + np.where(index < _N_CADENCES // 2, 0, _GAP_CADENCES)


def _observation(db: Session, sector: int, ccd: Instrument, cadences: npt.NDArray[np.int64]
                 ) -> TESSObservation:
    """Find the sector's 2-minute observation on ``ccd``, or create it; refuse other cadences."""
    key = {"sector": sector, "cadence_seconds": _CADENCE_SECONDS, "instrument": ccd}
    obs: TESSObservation = _get_or_create(db, TESSObservation, {**key, "orbit_number": None},
                                          cadence_reference=cadences)
    if obs.cadence_reference is None or not np.array_equal(obs.cadence_reference, cadences):
        raise ValueError(f"observation {obs.id} (sector {sector}, {ccd.path}) is not the demo's")
    return obs


def _photometry(tic: int, sector: int, btjd: npt.NDArray[np.float64]
                ) -> tuple[npt.NDArray[Any], ...]:
    """Synthesise (SAP flux, SAP error, PDCSAP flux, PDCSAP error, quality) for one pair."""
    rng = np.random.default_rng([_SEED, tic, sector])
    _, base, sigma = DEMO_TARGETS[tic]
    n, half = len(btjd), len(btjd) // 2
    since = np.where(np.arange(n) < half, btjd - btjd[0], btjd - btjd[half])
    trend = 1.0 - 0.004 * np.exp(-since / 0.3) + rng.normal(0.0, 2e-4) * (btjd - btjd[0])
    signal = np.ones(n)
    if tic == _TRANSIT["tic"]:
        phase = (btjd - _TRANSIT["t0"] + _TRANSIT["period"] / 2) % _TRANSIT["period"]
        x = np.abs(phase - _TRANSIT["period"] / 2) / (_TRANSIT["duration"] / 2)
        signal -= _TRANSIT["depth"] * np.clip((1.0 - x) / 0.25, 0.0, 1.0)
    relative = signal + rng.normal(0.0, sigma, n)
    flags = np.zeros(n, dtype=np.int64)
    flags[[137, 612]] |= _BITS["attitude_tweak"]
    flags[[0, 1, 2, half, half + 1, half + 2]] |= _BITS["coarse_point"]  # after each downlink
    flags[[300, 301, 800]] |= _BITS["desaturation"]                       # momentum dumps
    flags[rng.choice(n, size=int(rng.integers(2, 5)), replace=False)] |= _BITS["manual_exclude"]
    bad = (flags & (_BITS["coarse_point"] | _BITS["manual_exclude"])) != 0
    return (base * trend * relative, base * sigma * trend,
            np.where(bad, np.nan, base * relative), np.where(bad, np.nan, base * sigma), flags)


def build_demo(db: Session) -> DemoSummary:
    """Fill a migrated database with the demo TESS mission, creating only what is missing.

    Rows are looked up by their natural keys (names; catalog and TIC id;
    instrument name and parent; sector, cadence and CCD; (target,
    observation) for times and flags, plus source and method for light
    curves) and created only when absent; existing rows are never modified.
    The caller owns the transaction: nothing is committed here.

    Parameters
    ----------
    db : sqlalchemy.orm.Session
        A session on a database at the newest migration.

    Returns
    -------
    DemoSummary
        Row counts, what this run created and one row per target and sector.

    Raises
    ------
    ValueError
        If a demo observation's (sector, cadence, CCD) holds other cadence numbers.
    """
    before = _counts(db)
    _, catalog = ensure_tess_mission(db)
    create_tess_instruments(db)
    targets = {tic: _get_or_create(db, Target, {"catalog": catalog, "name": tic})
               for tic in DEMO_TARGETS}
    for tic, (ra, dec, tmag) in DEMO_POSITIONS.items():
        record_position(targets[tic], {"ra": ra, "dec": dec, "epoch": 2000.0,
                                       "magnitude": tmag, "magnitude_band": "TESS"})
    source = _get_or_create(db, PhotometricSource, {"name": SAP_SOURCE[0]},
                            description=SAP_SOURCE[1])
    method = _get_or_create(db, ProcessingMethod, {"name": PDC_METHOD[0]},
                            description=PDC_METHOD[1])
    rows = []
    for sector, camera, ccd, start, first in _SECTORS:
        cadences = _cadences(first)
        observation = _observation(db, sector, tess_ccd(db, camera, ccd), cadences)
        spacecraft_btjd = start + (cadences - first) * _CADENCE_SECONDS / 86400.0
        for tic, target in targets.items():
            btjd = spacecraft_btjd + DEMO_TARGETS[tic][0] + 1e-5 * (spacecraft_btjd - start)
            sap, sap_err, pdcsap, pdcsap_err, flags = _photometry(tic, sector, btjd)
            key = {"target": target, "observation": observation}
            _get_or_create(db, TargetSpecificTime, key, barycentric_julian_dates=btjd + 2457000.0)
            quality = _get_or_create(db, TESSQualityFlagArray, key, quality_flags=flags)
            curve = {**key, "photometry_source": source}
            raw = _get_or_create(db, DataSet, {**curve, "processing_method": None},
                                 unit=FLUX_UNIT, values=sap, errors=sap_err)
            cotrended = _get_or_create(db, DataSet, {**curve, "processing_method": method},
                                       unit=FLUX_UNIT, values=pdcsap, errors=pdcsap_err)
            if raw not in cotrended.source_datasets:
                cotrended.source_datasets.append(raw)
                db.flush()
            chain = [*reversed(cotrended.ancestors()), cotrended]
            rows.append(DemoRow(
                tic, sector, len(cotrended.values), float(np.nanmedian(raw.values)),
                float(np.nanmedian(cotrended.values)),
                int(np.count_nonzero(quality.quality_flags)),
                " -> ".join("SAP" if ds.processing_method is None else "PDCSAP" for ds in chain)))
    counts = _counts(db)
    return DemoSummary(url=db.get_bind().engine.url.render_as_string(hide_password=True),
                       counts=counts, created={k: counts[k] - before[k] for k in counts}, rows=rows)


def install_demo(bind: str | URL | Engine | None = None) -> DemoSummary:
    """Migrate a database to the newest revision, then build the demo in one transaction.

    The migration commits on its own (like ``lcdb db upgrade``); the demo rows
    are committed together, or not at all if anything fails.

    Parameters
    ----------
    bind : str, sqlalchemy.engine.URL or sqlalchemy.engine.Engine, optional
        The database; resolved like :func:`lightcurvedb.connect` when omitted
        (with no configuration, a SQLite file in the user's data directory).

    Returns
    -------
    DemoSummary
        See :func:`build_demo`.
    """
    engine = bind if isinstance(bind, Engine) else connect(bind)
    try:
        migrations.upgrade(engine)
        with open_session(engine) as db:
            return build_demo(db)
    finally:
        if engine is not bind:
            engine.dispose()
