"""Aliases from catalog files (``load_catalog_targets(aliases=...)``), SQLite and PostgreSQL."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.io import fits

import lightcurvedb
from lightcurvedb.loaders.catalog_aliases import alias_columns
from lightcurvedb.loaders.catalog_targets import load_catalog_targets
from lightcurvedb.models import Target, TargetAlias

GAIA = "Gaia DR3"


def catalog_file(path, targetids, gaia_ids, tmass=None):
    columns = [fits.Column(name="TARGETID", format="K", array=np.array(targetids)),
               fits.Column(name="GAIA_ID", format="K", array=np.array(gaia_ids))]
    if tmass is not None:
        columns.append(fits.Column(name="TMASS_ID", format="20A", array=np.array(tmass)))
    fits.BinTableHDU.from_columns(columns).writeto(path)
    return path


def load(session, path, aliases="Gaia DR3=GAIA_ID"):
    return load_catalog_targets(session, [path], catalog="DESI TEST", mission="DESI",
                                aliases=aliases)


def aliases(session):
    return sorted(session.execute(sa.select(TargetAlias.catalog, TargetAlias.name, Target.name)
                                  .join(Target)).all())


def test_alias_columns_become_aliases_once(session, tmp_path):
    path = catalog_file(tmp_path / "a.fits", [11, 12, 13],
                        [4623036143454223744, 0, 4623036143454223745],
                        ["J05370988-8028091", "", "J05370988-8028092"])
    run = load(session, path, "Gaia DR3=GAIA_ID; 2MASS=TMASS_ID")
    assert run.ok and run.aliases_added == 4 and "4 new aliases" in run.render()
    assert aliases(session) == [("2MASS", "J05370988-8028091", 11),
                                ("2MASS", "J05370988-8028092", 13),
                                (GAIA, "4623036143454223744", 11),
                                (GAIA, "4623036143454223745", 13)]
    assert lightcurvedb.find_target(session, "Gaia DR3 4623036143454223745").name == 13
    again = load(session, path, "Gaia DR3=GAIA_ID; 2MASS=TMASS_ID")
    assert again.ok and again.aliases_added == 0 and len(aliases(session)) == 4


@pytest.mark.parametrize(("targetids", "gaia_ids", "reason"), [
    ([21, 22], [4623036143454223744, 7], "alias Gaia DR3 4623036143454223744 of 21 is already "
                                         "another target's (11 in catalog id "),
    ([21, 22], [8, 8], "GAIA_ID = 8 names two targets (21 and 22) for alias catalog 'Gaia DR3'"),
])
def test_a_conflicting_alias_refuses_the_file_before_writing(session, tmp_path, targetids,
                                                             gaia_ids, reason):
    load(session, catalog_file(tmp_path / "a.fits", [11], [4623036143454223744]))
    before = session.scalar(sa.select(sa.func.count()).select_from(Target))
    run = load(session, catalog_file(tmp_path / "b.fits", targetids, gaia_ids))
    assert not run.ok and run.files.failures[0][1].startswith(reason), run.files.failures
    assert session.scalar(sa.select(sa.func.count()).select_from(Target)) == before
    assert len(aliases(session)) == 1


def test_a_missing_alias_column_is_named(session, tmp_path):
    run = load(session, catalog_file(tmp_path / "a.fits", [1], [2]), "2MASS=TMASS_ID")
    assert not run.ok
    assert run.files.failures[0][1] == "HDU 1 lacks alias column(s) TMASS_ID"


def test_alias_option_text():
    assert alias_columns("Gaia DR3=GAIA_ID;2MASS = TMASS_ID") == {GAIA: "GAIA_ID",
                                                                  "2MASS": "TMASS_ID"}
    with pytest.raises(ValueError, match="expected CATALOG=COLUMN pairs"):
        alias_columns("GAIA_ID")
