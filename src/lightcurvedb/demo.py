"""A small, realistic TESS mission to try lightcurvedb on: ``lcdb demo``.

:func:`build_demo` fills a database with two shortened TESS sectors of
2-minute photometry for five TIC targets: the instrument tree, barycentric
times, raw ``SAP`` and co-trended ``PDCSAP`` light curves linked by lineage,
and quality flags. It is idempotent: every row is looked up by its natural key
first, so a second run creates nothing. The data are synthetic but
deterministic (seeded per target and sector).

Examples
--------
>>> print(install_demo("sqlite:///demo.sqlite3").render())  # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import Session, undefer

from lightcurvedb import migrations
from lightcurvedb.core.engine import connect
from lightcurvedb.core.engine import session as open_session
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

__all__ = ["DEMO_TARGETS", "QUALITY_BITS", "DemoRow", "DemoSummary", "build_demo", "install_demo"]

#: TESS quality bits the demo sets, as bit value -> meaning.
QUALITY_BITS = {1: "attitude tweak", 4: "coarse point", 32: "desaturation event",
                128: "manual exclude"}
#: TIC id -> (barycentric offset in days, SAP flux in e-/s, relative noise per cadence).
DEMO_TARGETS = {261136679: (-0.00212, 1.9e6, 2e-4), 25155310: (0.00347, 1.6e4, 8e-4),
                307210830: (-0.00401, 4.1e4, 6e-4), 220479565: (0.00125, 8.3e3, 1e-3),
                149603524: (0.00289, 3.3e4, 7e-4)}
_TRANSIT = {"tic": 25155310, "t0": 1325.45, "period": 2.885, "depth": 0.01, "duration": 0.12}
_SECTORS = ((1, "Camera 1", "CCD 1", 1325.29, 70445), (2, "Camera 2", "CCD 3", 1354.10, 91188))
_N_CADENCES, _GAP_CADENCES, _CADENCE_DAYS = 1000, 720, 2.0 / 1440.0
_SEED = 20180725
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
        NaN-ignoring median of the SAP (e-/s) and PDCSAP (relative) flux.
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

    def render(self) -> str:
        """Return the summary as a plain-text report with aligned tables.

        Returns
        -------
        str
            The database URL, rows per table and one line per light-curve pair.
        """
        counts = _table(("Table", "Rows"), [(k, str(v)) for k, v in self.counts.items()])
        curves = _table(
            ("TIC id", "Sector", "Cadences", "SAP median", "PDCSAP median", "Flagged", "Lineage"),
            [(str(r.tic_id), str(r.sector), str(r.n_cadences), f"{r.raw_median:.2f}",
              f"{r.processed_median:.5f}", str(r.n_flagged), r.lineage) for r in self.rows],
            left=(6,))
        return "\n".join(["lightcurvedb demo: TESS sectors 1-2, TIC targets",
                          f"Database: {self.url}", "", counts, "", curves])


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]], left: tuple[int, ...] = (0,)
           ) -> str:
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) if i in left else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths),
                      *(line(row) for row in rows)])


def _get_or_create(db: Session, created: Counter[str], model: type[Any], lookup: dict[str, Any],
                   **values: Any) -> Any:
    """Return the ``model`` row matching ``lookup`` (None matches NULL), creating it if absent."""
    found = db.scalars(select(model).filter_by(**lookup)).one_or_none()
    if found is not None:
        return found
    obj = model(**lookup, **values)
    db.add(obj)
    db.flush()
    created[model.__tablename__] += 1
    return obj


def _cadences(first: int) -> npt.NDArray[np.int64]:
    half = _N_CADENCES // 2
    return np.concatenate([np.arange(first, first + half),
                           np.arange(first + half + _GAP_CADENCES,
                                     first + _N_CADENCES + _GAP_CADENCES)]).astype(np.int64)


def _observation(db: Session, created: Counter[str], ccd: Instrument,
                 cadences: npt.NDArray[np.int64]) -> Observation:
    """Find the demo sector's observation by instrument and first cadence, or create it."""
    for obs in db.scalars(select(Observation).where(Observation.instrument_id == ccd.id)
                          .options(undefer(Observation.cadence_reference))):
        if obs.cadence_reference is not None and obs.cadence_reference[:1].tolist() == \
                cadences[:1].tolist():
            return obs
    obs = Observation(instrument=ccd, cadence_reference=cadences)
    db.add(obs)
    db.flush()
    created[Observation.__tablename__] += 1
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
    flags[[137, 612]] |= 1                                        # attitude tweaks
    flags[[0, 1, 2, half, half + 1, half + 2]] |= 4               # coarse point after downlink
    flags[[300, 301, 800]] |= 32                                  # momentum dumps
    flags[rng.choice(n, size=int(rng.integers(2, 5)), replace=False)] |= 128
    pdcsap = np.where(flags & (4 | 128), np.nan, relative)
    return (base * trend * relative, np.full(n, base * sigma) * trend, pdcsap,
            np.where(np.isnan(pdcsap), np.nan, sigma), flags)


def build_demo(db: Session) -> DemoSummary:
    """Fill a migrated database with the demo TESS mission, creating only what is missing.

    Rows are looked up by their natural keys (mission, catalog, source and
    method names; target catalog and TIC id; instrument name and parent; an
    observation's CCD and first cadence number; (target, observation) for
    times; (type, observation, target) for quality flags; (target,
    observation, source, method) for light curves) and created only when
    absent; existing rows are never modified. The caller owns the
    transaction: nothing is committed here.

    Parameters
    ----------
    db : sqlalchemy.orm.Session
        A session on a database at the newest migration.

    Returns
    -------
    DemoSummary
        Row counts, what this run created and one row per target and sector.
    """
    created: Counter[str] = Counter()
    mission = _get_or_create(
        db, created, Mission, {"name": "TESS"}, time_format_name="btjd", time_unit="d",
        description="Transiting Exoplanet Survey Satellite", time_epoch=2457000.0,
        time_epoch_scale="tdb", time_epoch_format="jd")
    catalog = _get_or_create(db, created, MissionCatalog, {"name": "TIC"},
                             host_mission=mission, description="TESS Input Catalog")
    targets = {tic: _get_or_create(db, created, Target, {"catalog": catalog, "name": tic})
               for tic in DEMO_TARGETS}
    root = _get_or_create(db, created, Instrument, {"name": "TESS", "parent": None},
                          properties={"kind": "spacecraft", "cadence_s": 120})
    ccds: dict[tuple[str, str], Instrument] = {}
    for c in range(1, 5):
        camera = _get_or_create(db, created, Instrument, {"name": f"Camera {c}", "parent": root},
                                properties={"kind": "camera", "field_of_view_deg": 24})
        for d in range(1, 5):
            ccds[camera.name, f"CCD {d}"] = _get_or_create(
                db, created, Instrument, {"name": f"CCD {d}", "parent": camera},
                properties={"kind": "ccd", "pixels": [2048, 2048]})
    aperture = _get_or_create(db, created, PhotometricSource, {"name": "SPOC aperture"},
                              description="Simple aperture photometry from the SPOC pipeline")
    pdc = _get_or_create(db, created, ProcessingMethod, {"name": "PDC-MAP"},
                         description="Presearch Data Conditioning, maximum a posteriori")
    rows = []
    for sector, camera_name, ccd_name, start, first in _SECTORS:
        cadences = _cadences(first)
        observation = _observation(db, created, ccds[camera_name, ccd_name], cadences)
        spacecraft_btjd = start + (cadences - first) * _CADENCE_DAYS
        for tic, target in targets.items():
            btjd = spacecraft_btjd + DEMO_TARGETS[tic][0] + 1e-5 * (spacecraft_btjd - start)
            sap, sap_err, pdcsap, pdcsap_err, flags = _photometry(tic, sector, btjd)
            key = {"target": target, "observation": observation}
            _get_or_create(db, created, TargetSpecificTime, key,
                           barycentric_julian_dates=btjd + 2457000.0)
            quality = _get_or_create(db, created, QualityFlagArray,
                                     {**key, "type": "base_quality_flag"}, quality_flags=flags)
            raw = _get_or_create(db, created, DataSet, {**key, "photometry_source": aperture,
                                 "processing_method": None}, values=sap, errors=sap_err)
            cotrended = _get_or_create(db, created, DataSet, {**key, "photometry_source": aperture,
                                       "processing_method": pdc}, values=pdcsap, errors=pdcsap_err)
            if raw not in cotrended.source_datasets:
                cotrended.source_datasets.append(raw)
                db.flush()
                created[DataSetHierarchy.__tablename__] += 1
            chain = [*reversed(cotrended.ancestors()), cotrended]
            rows.append(DemoRow(
                tic, sector, len(cotrended.values), float(np.nanmedian(raw.values)),
                float(np.nanmedian(cotrended.values)),
                int(np.count_nonzero(quality.quality_flags)),
                " -> ".join("SAP" if ds.processing_method is None else "PDCSAP" for ds in chain)))
    counts = {m.__tablename__: db.scalar(select(func.count()).select_from(m.__table__)) or 0
              for m in _TABLES}
    bind = db.get_bind()
    return DemoSummary(url=bind.engine.url.render_as_string(hide_password=True), counts=counts,
                       created={m.__tablename__: created[m.__tablename__] for m in _TABLES},
                       rows=rows)


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
