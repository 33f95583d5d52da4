"""Aliases from catalog files (``load_catalog_targets(aliases=...)``), SQLite and PostgreSQL."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.io import fits

import lightcurvedb
from lightcurvedb.loaders.catalog_aliases import AliasColumn, alias_columns
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
    assert alias_columns("Gaia DR3=GAIA_ID;2MASS = TMASS_ID") == {
        GAIA: AliasColumn("GAIA_ID"), "2MASS": AliasColumn("TMASS_ID")}
    assert alias_columns("Gaia DR2 = REF_ID [ REF_CAT = G2 ]") == {
        "Gaia DR2": AliasColumn("REF_ID", ("REF_CAT", "G2"))}
    assert alias_columns({GAIA: "GAIA_ID"}) == {GAIA: AliasColumn("GAIA_ID")}
    with pytest.raises(ValueError, match="expected CATALOG=COLUMN pairs"):
        alias_columns("GAIA_ID")


def desi_fibermap(path, targetids, ref_cats, ref_ids):
    """A FIBERMAP's reference-star columns: REF_CAT says which catalog REF_ID numbers."""
    columns = [fits.Column(name="TARGETID", format="K", array=np.array(targetids)),
               fits.Column(name="REF_CAT", format="2A", array=np.array(ref_cats)),
               fits.Column(name="REF_ID", format="K", array=np.array(ref_ids))]
    fits.BinTableHDU.from_columns(columns, name="FIBERMAP").writeto(path)
    return path


def test_a_conditional_alias_names_only_the_rows_of_its_catalog(session, tmp_path):
    # REF_ID numbers a Gaia DR2 star where REF_CAT = G2 and a Tycho-2 one where T2;
    # without the condition the Tycho-2 number 912 would be filed as a Gaia name.
    path = desi_fibermap(tmp_path / "fm.fits", [31, 32, 33, 34],
                         ["G2", "T2", "", "G2"], [4623036143454223744, 912, 0, 77])
    run = load(session, path, "Gaia DR2=REF_ID[REF_CAT=G2]; Tycho-2=REF_ID[REF_CAT=T2]")
    assert run.ok and run.aliases_added == 3
    assert aliases(session) == [("Gaia DR2", "4623036143454223744", 31), ("Gaia DR2", "77", 34),
                                ("Tycho-2", "912", 32)]
    assert lightcurvedb.find_target(session, "Tycho-2 912").name == 32
    assert load(session, path, "Gaia DR2=REF_ID[REF_CAT=G2]").aliases_added == 0


@pytest.mark.parametrize(("spec", "reason"), [
    ("Gaia DR2=REF_ID[REF_CAT]", "expected COLUMN or COLUMN[OTHER=VALUE]"),
    ("Gaia DR2=REF_ID[REF_CAT=G2", "expected COLUMN or COLUMN[OTHER=VALUE]"),
])
def test_a_malformed_condition_is_one_line(spec, reason):
    with pytest.raises(ValueError, match=reason.replace("[", r"\[")):
        alias_columns(spec)


def test_a_missing_condition_column_refuses_the_file(session, tmp_path):
    path = catalog_file(tmp_path / "a.fits", [41], [4623036143454223744])
    run = load(session, path, "Gaia DR2=GAIA_ID[REF_CAT=G2]")
    assert not run.ok
    assert "lacks alias column(s) REF_CAT" in run.render()
    assert aliases(session) == []
