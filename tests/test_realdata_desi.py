"""Real DESI tables (fastspecfit's copies of a redrock and a coadd file) through the catalog loader.

Both files hold one SV1 target of tile 80613. The REDSHIFTS table of the
redrock file and the FIBERMAP of the coadd are loaded into tables made here,
on SQLite and PostgreSQL, and each stored value is compared with astropy's
reading of the same HDU.
"""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.io import fits
from sqlalchemy.engine import Engine

from lightcurvedb.loaders.catalog import load_fits_catalog


@pytest.fixture(scope="module")
def desi_tables(engine: Engine):
    metadata = sa.MetaData()
    redshifts = sa.Table(
        "realdata_desi_redshift", metadata,
        sa.Column("targetid", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("z", sa.Double), sa.Column("zerr", sa.Double),
        sa.Column("zwarn", sa.BigInteger), sa.Column("spectype", sa.String(6)),
        sa.Column("subtype", sa.String(20)), sa.Column("deltachi2", sa.Double))
    fibermap = sa.Table(
        "realdata_desi_fibermap", metadata,
        sa.Column("targetid", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("target_ra", sa.Double), sa.Column("target_dec", sa.Double),
        sa.Column("tileid", sa.Integer), sa.Column("fiber", sa.Integer),
        sa.Column("objtype", sa.String(3)), sa.Column("brickname", sa.String(8)),
        sa.Column("flux_r", sa.REAL), sa.Column("sv1_desi_target", sa.BigInteger))
    metadata.create_all(engine)
    yield redshifts, fibermap
    metadata.drop_all(engine)


def fits_rows(path, hdu: str, names) -> list[tuple]:
    """The HDU's rows by astropy; blank strings are NULL (docs/loading_catalogs.rst)."""
    with fits.open(path) as hdul:
        data = hdul[hdu].data
        return [tuple((v.strip() or None) if isinstance(v, str) else v.item()
                      for v in (row[name] for name in names)) for row in data]


def as_stored(table: sa.Table, row) -> tuple:
    """A row with REAL columns as float32 (PostgreSQL returns float4 as its shortest text)."""
    return tuple(float(np.float32(v)) if isinstance(c.type, sa.REAL) and v is not None else v
                 for c, v in zip(table.columns, row, strict=True))


@pytest.mark.parametrize(("key", "hdu", "which"), [("desi_redrock", "REDSHIFTS", 0),
                                                    ("desi_coadd", "FIBERMAP", 1)])
def test_real_desi_table_loads_with_the_values_of_the_file(session, real_file, desi_tables,
                                                           key, hdu, which):
    path, table = real_file(key), desi_tables[which]
    report = load_fits_catalog(session, path, table, hdu=hdu)
    assert (report.loaded, report.rows_in_file, report.rows_loaded) == (True, 1, 1)
    names = [column.name for column in table.columns]
    stored = [as_stored(table, row) for row in session.execute(sa.select(*table.columns))]
    expected = [as_stored(table, row)
                for row in fits_rows(path, hdu, [name.upper() for name in names])]
    assert stored == expected
    assert expected[0][0] > 0 and len(expected[0]) == len(names)


def test_real_desi_coadd_and_redrock_files_are_one_target(session, real_file):
    """The coadd's FIBERMAP and EXP_FIBERMAP and the redrock file name one TARGETID.

    It is above 2**53, so any float round trip would change it; the second and
    third loads find it and create nothing.
    """
    from lightcurvedb.loaders.catalog_targets import load_catalog_targets
    from lightcurvedb.models import Target

    coadd, redrock = real_file("desi_coadd"), real_file("desi_redrock")
    with fits.open(coadd) as hdul:
        (targetid,) = {int(t) for t in hdul["FIBERMAP"].data["TARGETID"]}
        per_exposure = [int(t) for t in hdul["EXP_FIBERMAP"].data["TARGETID"]]
    assert targetid > 2**53 and set(per_exposure) == {targetid} and len(per_exposure) > 1
    first = load_catalog_targets(session, [coadd], catalog="DESI SV1", mission="DESI",
                                 hdu="FIBERMAP")
    per_exposure_run = load_catalog_targets(session, [coadd], catalog="DESI SV1",
                                            mission="DESI", hdu="EXP_FIBERMAP")
    third = load_catalog_targets(session, [redrock], catalog="DESI SV1", mission="DESI",
                                 hdu="REDSHIFTS")
    assert (first.new_targets, first.existing_targets) == (1, 0)
    assert all(run.ok for run in (first, per_exposure_run, third)), third.render()
    assert (per_exposure_run.new_targets, per_exposure_run.existing_targets) == (0, 1)
    assert (third.new_targets, third.existing_targets) == (0, 1)
    assert session.scalars(sa.select(Target.name)).all() == [targetid]


def test_real_desi_positions_are_stored_as_in_the_fibermap(session, real_file, tmp_path):
    """``positions="desi"``: TARGET_RA/DEC, REF_EPOCH, PMRA/PMDEC of the coadd's FIBERMAP.

    The redrock file's FIBERMAP gives the same values (no conflict); a catalog
    claiming another position for the same TARGETID is refused and changes nothing.
    """
    from lightcurvedb.loaders.catalog_targets import load_catalog_targets
    from lightcurvedb.models import Target

    coadd, redrock = real_file("desi_coadd"), real_file("desi_redrock")
    with fits.open(coadd) as hdul:
        row = hdul["FIBERMAP"].data[0]
        want = {"name": int(row["TARGETID"]), "ra": float(row["TARGET_RA"]),
                "dec": float(row["TARGET_DEC"]), "epoch": float(row["REF_EPOCH"]),
                "pm_ra": float(row["PMRA"]), "pm_dec": float(row["PMDEC"])}
    runs = [load_catalog_targets(session, [path], catalog="DESI SV1", mission="DESI",
                                 hdu="FIBERMAP", positions="desi") for path in (coadd, redrock)]
    assert all(run.ok for run in runs), runs[-1].render()
    assert [(r.new_targets, r.existing_targets) for r in runs] == [(1, 0), (0, 1)]
    target = session.scalars(sa.select(Target)).one()
    assert {name: getattr(target, name) for name in want} == want
    assert 0.0 <= want["ra"] < 360.0 and want["epoch"] > 2000.0      # a real position

    table = fits.BinTableHDU.from_columns([
        fits.Column(name="TARGETID", format="K", array=np.array([want["name"]])),
        fits.Column(name="TARGET_RA", format="D", array=np.array([want["ra"] + 1.0])),
        fits.Column(name="TARGET_DEC", format="D", array=np.array([want["dec"]]))])
    table.writeto(tmp_path / "moved.fits")
    refused = load_catalog_targets(session, [tmp_path / "moved.fits"], catalog="DESI SV1",
                                   mission="DESI", positions="TARGET_RA=ra,TARGET_DEC=dec")
    assert not refused.ok
    assert (f"TARGET_RA {want['ra'] + 1.0} in the file, {want['ra']} stored"
            in refused.files.failures[0][1])
    session.expire_all()
    assert session.scalars(sa.select(Target.ra)).one() == want["ra"]
