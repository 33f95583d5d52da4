"""Migration 0012: light-curve arrays compressed with lz4 on PostgreSQL.

Checked on the real server the suite starts (Debian's PostgreSQL 15, built with
lz4): every table and partition gets the setting, partitions made afterwards
inherit it, a real SPOC light curve is stored in less space and read back bit
for bit, and the downgrade restores migration 0008's settings. SQLite has no
such settings; its upgrade and downgrade are part of the migration suite.
"""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.io import fits
from sqlalchemy.orm import Session

from array_support import same_bits
from lightcurvedb import connect, migrations, partitions
from lightcurvedb.loaders.tess import load_lightcurves
from lightcurvedb.models import DataSet, Observation
from lightcurvedb.testing import factories

POSTGRES = pytest.mark.parametrize("empty_database_url", ["postgresql"], indirect=True)
ARRAYS = {"dataset": ("values", "errors"),
          "target_specific_time": ("barycentric_julian_dates",),
          "quality_flag_array": ("quality_flags",)}
FLOATS = {"values", "errors", "barycentric_julian_dates"}


def storage(engine) -> dict[str, tuple[str, str]]:
    """``relation.column`` -> (attstorage, attcompression) for the array columns."""
    with engine.connect() as connection:
        rows = connection.execute(sa.text("""
            SELECT c.relname || '.' || a.attname, a.attstorage, a.attcompression
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.relname ~ '^(dataset|target_specific_time|quality_flag_array)'
              AND c.relkind IN ('r', 'p') AND a.attname = ANY(:columns)"""),
            {"columns": [c for columns in ARRAYS.values() for c in columns]}).all()
    return {name: (kind, compression) for name, kind, compression in rows}


def relations(observation_ids) -> list[str]:
    suffixes = ["", "_default", *(f"_obs_{i}" for i in observation_ids)]
    return [f"{table}{suffix}.{column}" for table, columns in ARRAYS.items()
            for column in columns for suffix in suffixes]


def new_observation(engine) -> int:
    with Session(engine) as session, factories.bound_to(session):
        observation = factories.ObservationFactory()
        session.flush()
        partitions.create_observation_partitions(session, [observation.id])
        session.commit()
        return observation.id


@POSTGRES
def test_upgrade_sets_lz4_on_every_partition_and_new_ones_inherit_it(empty_database_url):
    engine = connect(empty_database_url)
    try:
        migrations.upgrade(engine, "0011")
        before = new_observation(engine)
        old = storage(engine)
        assert {old[name] for name in relations([before]) if name.split(".")[1] in FLOATS} \
            == {("e", "")}                                     # 0008: EXTERNAL
        migrations.upgrade(engine)
        after = new_observation(engine)
        new = storage(engine)
        for name in relations([before, after]):
            assert new[name] == ("x", "l"), name               # EXTENDED, lz4
    finally:
        engine.dispose()


@POSTGRES
def test_real_light_curve_is_stored_smaller_and_read_back_bit_for_bit(empty_database_url,
                                                                      real_file):
    path = real_file("tess_spoc_lc")
    with fits.open(path) as hdul:
        flux = np.array(hdul["LIGHTCURVE"].data["PDCSAP_FLUX"]).astype(np.float64)
    engine = connect(empty_database_url)
    try:
        migrations.upgrade(engine)
        with Session(engine) as session:
            report = load_lightcurves(session, [path], progress=False)
            session.commit()
            assert report.loaded == [path]
            pdcsap = session.scalars(sa.select(DataSet).where(
                DataSet.processing_method_id.is_not(None))).one()
            stored = session.scalar(sa.text(
                'SELECT pg_column_size("values") FROM dataset WHERE id = :id'),
                {"id": pdcsap.id})
            assert same_bits(pdcsap.values, flux)
        # float32 values in float64: lz4 keeps some 60 % (uncompressed: 8 bytes each)
        assert stored < 0.75 * 8 * len(flux), stored
    finally:
        engine.dispose()


@POSTGRES
def test_downgrade_restores_0008_settings_and_keeps_the_values(empty_database_url):
    engine = connect(empty_database_url)
    try:
        migrations.upgrade(engine)
        observation_id = new_observation(engine)
        values = np.linspace(1.0, 2.0, 5000, dtype=np.float32).astype(np.float64)
        with Session(engine) as session, factories.bound_to(session):
            lc = factories.DataSetFactory(observation=session.get(Observation, observation_id),
                                          values=values, errors=None)
            session.commit()
            lc_id = lc.id
        migrations.downgrade(engine, "0011")
        restored = storage(engine)
        for name in relations([observation_id]):
            expected = ("e", "") if name.split(".")[1] in FLOATS else ("x", "")
            assert restored[name] == expected, name
        with Session(engine) as session:
            assert same_bits(session.get(DataSet, lc_id).values, values)
    finally:
        engine.dispose()
