"""RBH-1 read side: the seed's four views and, on PostgreSQL, its two SQL functions.

Views (``rbh1.view_*`` on PostgreSQL, unprefixed on SQLite, where the schema
is translated away): ``view_gold_sample``, ``view_kinematic_gradient``,
``view_mcmc_inventory`` and ``view_metallicity_profile``. Their SQL is the same
on both backends except for the collation that orders line names byte-wise
(``COLLATE "C"`` on PostgreSQL, SQLite's default ``BINARY``).

Functions (PostgreSQL only, ``LANGUAGE sql STABLE``):
``rbh1.get_spaxel_lines(bigint)`` and
``rbh1.get_spaxels_in_region(rbh1.geometric_region)``. On both backends
:mod:`lightcurvedb.rbh1.queries` gives the same rows from Python.

Views and functions are invisible to autogenerate. On SQLite, a later
migration that rebuilds one of the tables these views read (batch mode) must
drop the views first and create them again afterwards: SQLite refuses to
rename a table while a view names a table that does not exist.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

"""
from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "rbh1"
VIEWS = ("view_gold_sample", "view_kinematic_gradient", "view_mcmc_inventory",
         "view_metallicity_profile")


def _view_sql(prefix: str, collate_c: str) -> dict[str, str]:
    """Return ``{view name: SELECT}`` with tables qualified by ``prefix``."""
    p = prefix
    return {
        # GOLD spaxels with their H-alpha fit and physical properties (NULL where
        # the spaxel has none yet).
        "view_gold_sample": f"""
SELECT s.spaxel_id, s.wcs_id, s.x, s.y, s.ra, s.dec, s.region,
       s.distance_from_host_kpc, s.snr_median,
       e.flux AS halpha_flux, e.flux_err AS halpha_flux_err,
       e.velocity_kms AS halpha_velocity_kms,
       e.velocity_err_kms AS halpha_velocity_err_kms,
       e.sigma_kms AS halpha_sigma_kms, e.snr AS halpha_snr,
       e.fit_quality AS halpha_fit_quality,
       pp.metallicity_12logoh, pp.metallicity_err, pp.extinction_av,
       pp.electron_density_cm3, pp.sfr_msun_yr, pp.method
FROM {p}ifu_spaxels AS s
LEFT OUTER JOIN {p}emission_lines AS e
    ON e.spaxel_id = s.spaxel_id AND e.line_name = 'Halpha'
LEFT OUTER JOIN {p}physical_properties AS pp ON pp.spaxel_id = s.spaxel_id
WHERE s.quality = 'GOLD'
ORDER BY s.spaxel_id""",
        # Line-of-sight velocity against projected distance, GOLD/SILVER fits only.
        "view_kinematic_gradient": f"""
SELECT s.spaxel_id, e.line_name, s.region, s.distance_from_host_kpc,
       e.velocity_kms, e.velocity_err_kms, e.sigma_kms, e.snr, e.fit_quality
FROM {p}emission_lines AS e
JOIN {p}ifu_spaxels AS s ON s.spaxel_id = e.spaxel_id
WHERE e.fit_quality IN ('GOLD', 'SILVER') AND s.distance_from_host_kpc IS NOT NULL
ORDER BY s.distance_from_host_kpc, s.spaxel_id, e.line_name{collate_c}""",
        # Every MCMC run, with what it fitted and how far it got.
        "view_mcmc_inventory": f"""
SELECT m.mcmc_id, m.spaxel_id, m.region_id, r.name AS region_name,
       COALESCE(r.region, s.region) AS region, m.model_name,
       m.n_walkers, m.n_steps, m.n_burn, m.acceptance_fraction, m.converged,
       (SELECT COUNT(*) FROM {p}mcmc_parameter_summary AS ps
        WHERE ps.mcmc_id = m.mcmc_id) AS n_parameters,
       (SELECT MAX(ps.r_hat) FROM {p}mcmc_parameter_summary AS ps
        WHERE ps.mcmc_id = m.mcmc_id) AS max_r_hat,
       m.run_id
FROM {p}mcmc_metadata AS m
LEFT OUTER JOIN {p}ifu_spaxels AS s ON s.spaxel_id = m.spaxel_id
LEFT OUTER JOIN {p}regions_of_interest AS r ON r.region_id = m.region_id
ORDER BY m.mcmc_id""",
        # 12 + log(O/H) against projected distance, REJECTED spaxels left out.
        "view_metallicity_profile": f"""
SELECT s.spaxel_id, s.region, s.distance_from_host_kpc,
       pp.metallicity_12logoh, pp.metallicity_err, pp.method, s.quality
FROM {p}physical_properties AS pp
JOIN {p}ifu_spaxels AS s ON s.spaxel_id = pp.spaxel_id
WHERE pp.metallicity_12logoh IS NOT NULL AND s.distance_from_host_kpc IS NOT NULL
  AND s.quality <> 'REJECTED'
ORDER BY s.distance_from_host_kpc, s.spaxel_id""",
    }


GET_SPAXEL_LINES = f"""
CREATE FUNCTION {SCHEMA}.get_spaxel_lines(p_spaxel_id bigint)
RETURNS TABLE (
    line_id bigint, line_name varchar, rest_wavelength_um double precision,
    observed_wavelength_um double precision, flux double precision,
    flux_err double precision, velocity_kms double precision,
    velocity_err_kms double precision, sigma_kms double precision, snr double precision,
    fit_quality {SCHEMA}.quality_flag, run_id integer
)
LANGUAGE sql STABLE AS $$
    SELECT e.line_id, e.line_name, e.rest_wavelength_um, e.observed_wavelength_um,
           e.flux, e.flux_err, e.velocity_kms, e.velocity_err_kms, e.sigma_kms, e.snr,
           e.fit_quality, e.run_id
    FROM {SCHEMA}.emission_lines AS e
    WHERE e.spaxel_id = p_spaxel_id
    ORDER BY e.line_name COLLATE "C"
$$"""

GET_SPAXELS_IN_REGION = f"""
CREATE FUNCTION {SCHEMA}.get_spaxels_in_region(p_region {SCHEMA}.geometric_region)
RETURNS SETOF {SCHEMA}.ifu_spaxels
LANGUAGE sql STABLE AS $$
    SELECT s.* FROM {SCHEMA}.ifu_spaxels AS s
    WHERE s.region = p_region
    ORDER BY s.spaxel_id
$$"""

FUNCTIONS = (f"{SCHEMA}.get_spaxel_lines(bigint)",
             f"{SCHEMA}.get_spaxels_in_region({SCHEMA}.geometric_region)")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    prefix = f"{SCHEMA}." if postgresql else ""
    collate_c = ' COLLATE "C"' if postgresql else ""
    for name, select in _view_sql(prefix, collate_c).items():
        op.execute(f"CREATE VIEW {prefix}{name} AS{select}")
    if postgresql:
        op.execute(GET_SPAXEL_LINES)
        op.execute(GET_SPAXELS_IN_REGION)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    prefix = f"{SCHEMA}." if postgresql else ""
    if postgresql:
        for signature in FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {prefix}{name}")
