"""Seed 004's "Usage Examples", run as written, with assertions on what they print.

Each test keeps the seed's code (``session.query(...)`` style included) and
checks the values it would show.
"""

from __future__ import annotations

import numpy as np

from lightcurvedb.models import DataSet, Instrument, QualityFlagArray, Target
from lightcurvedb.testing import factories as f

TIC_ID = 12345678  # the TIC id the seed's examples query


def _tess_target(session):
    catalog = f.MissionCatalogFactory(
        name="TIC", host_mission=f.MissionFactory(name="TESS", time_format_name="btjd"))
    return f.TargetFactory(catalog=catalog, name=TIC_ID)


def test_querying_a_targets_lightcurves(session, capsys):
    target = _tess_target(session)
    observation = f.ObservationFactory()
    aperture = f.PhotometricSourceFactory(name="Aperture 2px")
    raw = f.DataSetFactory(target=target, observation=observation, photometry_source=aperture,
                           values=np.array([1.0, 0.99, 1.01]))
    f.DataSetFactory(target=target, observation=observation, photometry_source=None,
                     processing_method=f.ProcessingMethodFactory(name="Detrended"),
                     values=np.array([1.0, 1.0, 1.0]))
    f.DataSetFactory(values=np.array([5.0]))  # another target's light curve
    session.flush()
    session.expire_all()

    # --- seed 004 ---
    target = session.query(Target).filter_by(name=12345678).first()
    lightcurves = target.datasets

    for lc in lightcurves:
        photometry = lc.photometry_source.name if lc.photometry_source else "N/A"
        processing = lc.processing_method.name if lc.processing_method else "Raw"
        print(f"Photometry: {photometry}, Processing: {processing}")
        print(f"Values: {lc.values}")
    # --- end seed ---

    assert len(lightcurves) == 2
    assert lightcurves[0].id == raw.id
    assert capsys.readouterr().out.splitlines() == [
        "Photometry: Aperture 2px, Processing: Raw",
        "Values: [1.   0.99 1.01]",
        "Photometry: N/A, Processing: Detrended",
        "Values: [1. 1. 1.]",
    ]


def test_creating_an_instrument_hierarchy(session):
    # --- seed 004 ---
    camera = Instrument(name="TESS Camera 1")
    ccd1 = Instrument(name="CCD 1", parent=camera)
    ccd2 = Instrument(name="CCD 2", parent=camera)

    session.add_all([camera, ccd1, ccd2])
    # --- end seed ---
    session.flush()
    session.expire_all()

    root = session.query(Instrument).filter_by(name="TESS Camera 1").one()
    assert root.parent is None
    assert [child.name for child in root.children] == ["CCD 1", "CCD 2"]
    assert {child.parent_id for child in root.children} == {root.id}


def test_working_with_quality_flags(session, capsys):
    target = _tess_target(session)
    observation = f.ObservationFactory()
    f.TargetSpecificTimeFactory(target=target, observation=observation)
    # bit 0 = cosmic ray, bit 1 = saturation: cadences 0 and 3 have a cosmic ray,
    # 3 and 4 are saturated.
    f.QualityFlagArrayFactory(observation=observation, target=target,
                              quality_flags=np.array([1, 0, 0, 3, 2, 0, 4], dtype=np.int32))
    f.QualityFlagArrayFactory(observation=observation, target=None,
                              quality_flags=np.array([1, 1, 1, 1, 1, 1, 1], dtype=np.int32))
    session.flush()
    session.expire_all()

    # --- seed 004 ---
    target = session.query(Target).filter_by(name=12345678).first()
    observation = target.observations[0]

    quality_flags = session.query(QualityFlagArray).filter_by(
        observation=observation,
        target=target,
        type="base_quality_flag"
    ).first()

    if quality_flags:
        cosmic_ray_mask = (quality_flags.quality_flags & 1) != 0
        num_cosmic_rays = np.sum(cosmic_ray_mask)
        print(f"Found {num_cosmic_rays} cadences with cosmic ray events")

        saturation_mask = (quality_flags.quality_flags & 2) != 0
        print(f"Saturated in {np.sum(saturation_mask)} cadences")
    # --- end seed ---

    assert capsys.readouterr().out.splitlines() == [
        "Found 2 cadences with cosmic ray events",
        "Saturated in 2 cadences",
    ]
    assert cosmic_ray_mask.tolist() == [True, False, False, True, False, False, False]


def test_tracking_data_lineage(session, capsys):
    target = _tess_target(session)
    observation = f.ObservationFactory()
    aperture_source = f.PhotometricSourceFactory(name="Aperture")
    detrending_method = f.ProcessingMethodFactory(name="Polynomial detrend")
    np.random.seed(4)  # the seed's example draws from numpy's global generator

    # --- seed 004 ---
    raw_flux = np.random.normal(1.0, 0.01, 1000)
    raw_dataset = DataSet(
        target=target,
        observation=observation,
        photometry_source=aperture_source,
        processing_method=None,  # Raw data, no processing
        values=raw_flux
    )
    session.add(raw_dataset)
    session.flush()

    detrended_flux = raw_flux - np.polyval([0.001, 0], range(1000))
    detrended_dataset = DataSet(
        target=target,
        observation=observation,
        photometry_source=aperture_source,
        processing_method=detrending_method,
        values=detrended_flux
    )

    detrended_dataset.source_datasets.append(raw_dataset)
    session.add(detrended_dataset)
    session.commit()

    print(f"Raw dataset has {len(raw_dataset.derived_datasets)} derived products")
    print(f"Detrended dataset has {len(detrended_dataset.source_datasets)} sources")
    # --- end seed ---

    assert capsys.readouterr().out.splitlines() == [
        "Raw dataset has 1 derived products",
        "Detrended dataset has 1 sources",
    ]
    session.expire_all()
    stored = session.get(DataSet, detrended_dataset.id)
    assert stored.source_datasets[0].id == raw_dataset.id
    # The detrend subtracted 0.001 per cadence: the last value is 0.999 lower.
    assert stored.values[-1] == raw_flux[-1] - 0.999
    np.testing.assert_array_equal(stored.source_datasets[0].values, raw_flux)
