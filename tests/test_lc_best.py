"""The best light curve of each target and observation: the documented rule, chosen in SQL."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sqlalchemy.orm import Session

import lightcurvedb
from lc_support import selects, tess_curve, tess_observation
from lightcurvedb.lc import BestRule
from lightcurvedb.models import DataSet


def python_best(datasets: list[DataSet], rule: BestRule) -> set[int]:
    """The module documentation's rule, written out in Python over ORM rows."""
    def key(ds: DataSet):
        processing = ds.processing_method.name if ds.processing_method else "raw"
        photometry = ds.photometry_source.name
        terms = []
        for criterion in rule.order:
            if criterion == "processing" and rule.processing:
                terms.append(list(rule.processing).index(processing)
                             if processing in rule.processing else len(rule.processing))
            elif criterion == "processed":
                terms.append(0 if ds.processing_method else 1)
            elif criterion == "derived":
                terms.append(0 if ds.source_datasets else 1)
            elif criterion == "photometry" and rule.photometry:
                terms.append(list(rule.photometry).index(photometry)
                             if photometry in rule.photometry else len(rule.photometry))
            elif criterion == "newest":
                terms.append(-ds.id)
        return (*terms, -ds.id)

    groups: dict[tuple[int, int], list[DataSet]] = {}
    for ds in datasets:
        groups.setdefault((ds.target_id, ds.observation_id), []).append(ds)
    return {min(group, key=key).id for group in groups.values()}


@pytest.fixture
def mixed(session: Session) -> list[DataSet]:
    """Light curves of 4 targets in 2 sectors: raw, PDC derived from raw, other methods."""
    rng = np.random.default_rng(7)
    made = []
    for sector in (3, 4):
        observation = tess_observation(session, sector, range(1000 * sector, 1000 * sector + 8))
        for tic in (501, 502, 503, 504):
            raw = []
            for _ in range(int(rng.integers(1, 4))):
                choice = rng.integers(0, 4)
                photometry = ("SPOC aperture", "my aperture")[int(rng.integers(0, 2))]
                if choice == 0 or not raw:
                    raw.append(tess_curve(session, observation, tic, rng.normal(size=8),
                                          btjd=np.arange(8.0), photometry=photometry))
                    made.append(raw[-1])
                else:
                    method = ("PDC", "detrend", "PDC")[int(choice) - 1]
                    sources = raw[:1] if choice != 2 else []
                    made.append(tess_curve(session, observation, tic, rng.normal(size=8),
                                           processing=method, photometry=photometry,
                                           sources=sources))
    session.flush()
    return made


RULES = [
    BestRule(),
    BestRule(order=["processed", "newest"]),
    BestRule(processing=["raw"]),
    BestRule(processing=["detrend", "PDC"]),
    BestRule(photometry=["my aperture"], order=["photometry", "processing", "newest"]),
    BestRule(photometry=["my aperture", "SPOC aperture"], processing=["PDC", "raw"],
             order=["derived", "photometry", "processing"]),
]


@pytest.mark.parametrize("rule", RULES, ids=[f"rule{i}" for i in range(len(RULES))])
def test_sql_choice_is_the_documented_rule(session, mixed, rule):
    expected = python_best(mixed, rule)
    chosen = lightcurvedb.lightcurves(session, sector=[3, 4], best=rule)
    assert {lc.id for lc in chosen} == expected
    groups = {(lc.target.id, lc.observation.id) for lc in chosen}
    assert len(groups) == len(chosen) == 8          # one per target and sector


def test_default_prefers_processed_then_derived_then_newest(session):
    observation = tess_observation(session, 9, range(4))
    sap = tess_curve(session, observation, 77, np.ones(4), btjd=np.arange(4.0))
    pdc = tess_curve(session, observation, 77, np.ones(4), processing="PDC", sources=[sap])
    newer = tess_curve(session, observation, 77, np.ones(4), processing="detrend")
    assert newer.id > pdc.id > sap.id
    (best,) = lightcurvedb.lightcurves(session, tic=77, best=True)
    assert best.id == pdc.id                       # derived beats the newer, underived one
    (best,) = lightcurvedb.lightcurves(session, tic=77, best=BestRule(order=["newest"]))
    assert best.id == newer.id
    (best,) = lightcurvedb.lightcurves(session, tic=77, best=BestRule(processing=["raw"]))
    assert best.id == sap.id
    # the filters apply first, then the ranking
    (best,) = lightcurvedb.lightcurves(session, tic=77, processing=["raw", "detrend"], best=True)
    assert best.id == newer.id


def test_best_is_part_of_the_same_queries(session, mixed):
    session.expunge_all()
    with selects(session) as plain:
        lightcurvedb.lightcurves(session, sector=[3, 4])
    with selects(session) as best:
        lightcurvedb.lightcurves(session, sector=[3, 4], best=True)
    assert len(best) == len(plain) == 3
    assert "row_number() OVER (PARTITION BY" in best[0]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"order": ["quality"]}, "unknown BestRule criteria"),
    ({"order": ["newest", "newest"]}, "repeats a criterion"),
    ({"processing": "PDC"}, r"not the string 'PDC' \(write \['PDC'\]\)"),
])
def test_rules_are_checked(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        BestRule(**kwargs)


def test_criteria_cover_every_combination_of_the_default_rule(session):
    """Every (processed, derived) pair in one group, several times: the order is total."""
    observation = tess_observation(session, 10, range(3))
    made = []
    for processed, derived in itertools.product((False, True), repeat=2):
        source = tess_curve(session, observation, 88, np.ones(3), btjd=np.arange(3.0)) \
            if derived else None
        made.append(tess_curve(session, observation, 88, np.ones(3),
                               processing="PDC" if processed else None,
                               sources=[source] if source else []))
    (best,) = lightcurvedb.lightcurves(session, tic=88, best=True)
    assert best.id == made[3].id                    # processed and derived
