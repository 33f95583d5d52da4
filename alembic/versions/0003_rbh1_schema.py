"""RBH-1 four-zone schema: 11 tables and 5 enum types in schema ``rbh1`` (footprints).

On PostgreSQL this creates the ``rbh1`` schema, and the PostGIS extension when
it is missing and the role may create it (only then is it dropped again on
downgrade). Footprints are PostGIS ``geometry(POLYGON,4326)`` when PostGIS is
installed; otherwise well-known text, with the PL/pgSQL polygon tests of
:mod:`lightcurvedb.core.pgpolygon` (the ``ra_min``/``ra_max``/``dec_min``/
``dec_max`` columns and their index serve both forms). On SQLite the schema is
translated away by the connection and enums are checked strings.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

"""
import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lightcurvedb.core.types
from lightcurvedb.core import extensions, pgpolygon

revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "rbh1"
POSTGIS_NOTE = "PostGIS, installed by lightcurvedb migration 0003 (RBH-1)"
ENUMS = ("instrument_type", "data_level", "quality_flag", "artifact_type", "geometric_region")


def upgrade() -> None:
    bind = op.get_bind()
    text_footprints = False
    if bind.dialect.name == "postgresql":
        postgis = extensions.create_if_allowed(bind, "postgis", POSTGIS_NOTE)
        # SkyPolygonType compiles to geometry or text from what the dialect holds.
        text_footprints = extensions.refresh(bind).postgis is None
        if text_footprints:
            logging.getLogger("alembic.runtime.migration").info(
                "footprints stored as text with bounding boxes: %s", postgis.reason)
        op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    # SQLite has no schemas (and drops foreign keys that cross one), so the
    # tables go in the main database there.
    schema = SCHEMA if bind.dialect.name == "postgresql" else None
    prefix = f"{schema}." if schema else ""
    op.create_table('pipeline_runs',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('run_name', sa.String(length=128), nullable=False),
    sa.Column('stage_name', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', lightcurvedb.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', lightcurvedb.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('rows_processed', sa.Integer(), nullable=False),
    sa.Column('rows_skipped', sa.Integer(), nullable=False),
    sa.Column('rows_failed', sa.Integer(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('running', 'success', 'failed')", name=op.f('ck_pipeline_runs_status')),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_pipeline_runs')),
    schema=schema
    )
    op.create_index(op.f('ix_rbh1_pipeline_runs_run_name'), 'pipeline_runs', ['run_name'], unique=False, schema=schema)
    op.create_table('regions_of_interest',
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('region', sa.Enum('HOST', 'WAKE_INNER', 'WAKE_MIDDLE', 'WAKE_OUTER', 'TIP', 'BACKGROUND', name='geometric_region', create_constraint=True, schema=schema), nullable=False),
    sa.Column('footprint', lightcurvedb.core.types.SkyPolygonType(), nullable=False),
    sa.Column('distance_min_kpc', sa.Double(), nullable=True),
    sa.Column('distance_max_kpc', sa.Double(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('region_id', name=op.f('pk_regions_of_interest')),
    sa.UniqueConstraint('name', name=op.f('uq_regions_of_interest_name')),
    schema=schema
    )
    op.create_table('observations',
    sa.Column('obs_id', sa.Integer(), nullable=False),
    sa.Column('frame_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=128), nullable=False),
    sa.Column('file_path', lightcurvedb.core.types.PathType(), nullable=False),
    sa.Column('instrument', sa.Enum('HST_WFC3', 'JWST_NIRSPEC', name='instrument_type', create_constraint=True, schema=schema), nullable=False),
    sa.Column('data_level', sa.Enum('RAW', 'CAL', 'RESAMPLED', 'DERIVED', name='data_level', create_constraint=True, schema=schema), nullable=False),
    sa.Column('file_type', sa.String(length=8), nullable=False),
    sa.Column('target_name', sa.String(length=64), nullable=True),
    sa.Column('program_id', sa.Integer(), nullable=True),
    sa.Column('filter_name', sa.String(length=32), nullable=True),
    sa.Column('grating', sa.String(length=16), nullable=True),
    sa.Column('exposure_time', sa.Double(), nullable=True),
    sa.Column('date_obs', lightcurvedb.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('exposure_start_mjd', sa.Double(), nullable=True),
    sa.Column('n_extensions', sa.Integer(), nullable=False),
    sa.Column('file_size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('wcs_excluded_reason', sa.Text(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('loaded_at', lightcurvedb.core.types.UTCDateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint("file_type IN ('flc', 'drc', 'cal', 'x1d', 's3d')", name=op.f('ck_observations_file_type')),
    sa.ForeignKeyConstraint(['frame_id'], ['fits_frame.id'], name=op.f('fk_observations_frame_id_fits_frame'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], [f'{prefix}pipeline_runs.run_id'], name=op.f('fk_observations_run_id_pipeline_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('obs_id', name=op.f('pk_observations')),
    sa.UniqueConstraint('file_name', name=op.f('uq_observations_file_name')),
    sa.UniqueConstraint('frame_id', name=op.f('uq_observations_frame_id')),
    schema=schema
    )
    op.create_table('wcs_solutions',
    sa.Column('wcs_id', sa.Integer(), nullable=False),
    sa.Column('obs_id', sa.Integer(), nullable=False),
    sa.Column('footprint', lightcurvedb.core.types.SkyPolygonType(), nullable=False),
    sa.Column('footprint_method', sa.String(length=24), nullable=False),
    sa.Column('n_chips', sa.Integer(), nullable=False),
    sa.Column('ctype1', sa.String(length=16), nullable=False),
    sa.Column('ctype2', sa.String(length=16), nullable=False),
    sa.Column('crval1', sa.Double(), nullable=False),
    sa.Column('crval2', sa.Double(), nullable=False),
    sa.Column('crpix1', sa.Double(), nullable=False),
    sa.Column('crpix2', sa.Double(), nullable=False),
    sa.Column('cd1_1', sa.Double(), nullable=False),
    sa.Column('cd1_2', sa.Double(), nullable=False),
    sa.Column('cd2_1', sa.Double(), nullable=False),
    sa.Column('cd2_2', sa.Double(), nullable=False),
    sa.Column('naxis1', sa.Integer(), nullable=False),
    sa.Column('naxis2', sa.Integer(), nullable=False),
    sa.Column('pixel_scale_arcsec', sa.Double(), nullable=False),
    sa.Column('ra_span_arcsec', sa.Double(), nullable=False),
    sa.Column('dec_span_arcsec', sa.Double(), nullable=False),
    sa.Column('ra_min', sa.Double(), nullable=False),
    sa.Column('ra_max', sa.Double(), nullable=False),
    sa.Column('dec_min', sa.Double(), nullable=False),
    sa.Column('dec_max', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['obs_id'], [f'{prefix}observations.obs_id'], name=op.f('fk_wcs_solutions_obs_id_observations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('wcs_id', name=op.f('pk_wcs_solutions')),
    sa.UniqueConstraint('obs_id', name=op.f('uq_wcs_solutions_obs_id')),
    schema=schema
    )
    op.create_index(op.f('ix_rbh1_wcs_solutions_ra_min'), 'wcs_solutions', ['ra_min'], unique=False, schema=schema)
    op.create_table('ifu_spaxels',
    sa.Column('spaxel_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('wcs_id', sa.Integer(), nullable=False),
    sa.Column('x', sa.Integer(), nullable=False),
    sa.Column('y', sa.Integer(), nullable=False),
    sa.Column('ra', sa.Double(), nullable=False),
    sa.Column('dec', sa.Double(), nullable=False),
    sa.Column('region', sa.Enum('HOST', 'WAKE_INNER', 'WAKE_MIDDLE', 'WAKE_OUTER', 'TIP', 'BACKGROUND', name='geometric_region', create_constraint=True, schema=schema), nullable=True),
    sa.Column('distance_from_host_kpc', sa.Double(), nullable=True),
    sa.Column('snr_median', sa.Double(), nullable=True),
    sa.Column('snr_max', sa.Double(), nullable=True),
    sa.Column('flux_median', sa.Double(), nullable=True),
    sa.Column('n_valid_channels', sa.Integer(), nullable=False),
    sa.Column('quality', sa.Enum('GOLD', 'SILVER', 'BRONZE', 'REJECTED', name='quality_flag', create_constraint=True, schema=schema), nullable=False),
    sa.ForeignKeyConstraint(['wcs_id'], [f'{prefix}wcs_solutions.wcs_id'], name=op.f('fk_ifu_spaxels_wcs_id_wcs_solutions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('spaxel_id', name=op.f('pk_ifu_spaxels')),
    sa.UniqueConstraint('wcs_id', 'x', 'y', name=op.f('uq_ifu_spaxels_wcs_id_x_y')),
    schema=schema
    )
    op.create_index(op.f('ix_rbh1_ifu_spaxels_ra'), 'ifu_spaxels', ['ra'], unique=False, schema=schema)
    op.create_index(op.f('ix_rbh1_ifu_spaxels_region'), 'ifu_spaxels', ['region'], unique=False, schema=schema)
    op.create_table('spectral_grids',
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('wcs_id', sa.Integer(), nullable=False),
    sa.Column('n_channels', sa.Integer(), nullable=False),
    sa.Column('min_wavelength', sa.Double(), nullable=False),
    sa.Column('max_wavelength', sa.Double(), nullable=False),
    sa.Column('mean_spacing', sa.Double(), nullable=False),
    sa.Column('mean_resolution', sa.Double(), nullable=False),
    sa.Column('wavelengths', lightcurvedb.core.types.NumpyArray('float64'), nullable=False),
    sa.Column('grid_hash', sa.String(length=64), nullable=False),
    sa.Column('extraction_mode', sa.String(length=24), nullable=False),
    sa.ForeignKeyConstraint(['wcs_id'], [f'{prefix}wcs_solutions.wcs_id'], name=op.f('fk_spectral_grids_wcs_id_wcs_solutions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('grid_id', name=op.f('pk_spectral_grids')),
    sa.UniqueConstraint('wcs_id', name=op.f('uq_spectral_grids_wcs_id')),
    schema=schema
    )
    op.create_index(op.f('ix_rbh1_spectral_grids_grid_hash'), 'spectral_grids', ['grid_hash'], unique=False, schema=schema)
    op.create_table('emission_lines',
    sa.Column('line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('spaxel_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('line_name', sa.String(length=32), nullable=False),
    sa.Column('rest_wavelength_um', sa.Double(), nullable=False),
    sa.Column('observed_wavelength_um', sa.Double(), nullable=False),
    sa.Column('flux', sa.Double(), nullable=False),
    sa.Column('flux_err', sa.Double(), nullable=False),
    sa.Column('velocity_kms', sa.Double(), nullable=False),
    sa.Column('velocity_err_kms', sa.Double(), nullable=False),
    sa.Column('sigma_kms', sa.Double(), nullable=True),
    sa.Column('snr', sa.Double(), nullable=False),
    sa.Column('fit_quality', sa.Enum('GOLD', 'SILVER', 'BRONZE', 'REJECTED', name='quality_flag', create_constraint=True, schema=schema), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], [f'{prefix}pipeline_runs.run_id'], name=op.f('fk_emission_lines_run_id_pipeline_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['spaxel_id'], [f'{prefix}ifu_spaxels.spaxel_id'], name=op.f('fk_emission_lines_spaxel_id_ifu_spaxels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('line_id', name=op.f('pk_emission_lines')),
    sa.UniqueConstraint('spaxel_id', 'line_name', name=op.f('uq_emission_lines_spaxel_id_line_name')),
    schema=schema
    )
    op.create_index(op.f('ix_rbh1_emission_lines_spaxel_id'), 'emission_lines', ['spaxel_id'], unique=False, schema=schema)
    op.create_table('mcmc_metadata',
    sa.Column('mcmc_id', sa.Integer(), nullable=False),
    sa.Column('spaxel_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('region_id', sa.Integer(), nullable=True),
    sa.Column('model_name', sa.String(length=64), nullable=False),
    sa.Column('n_walkers', sa.Integer(), nullable=False),
    sa.Column('n_steps', sa.Integer(), nullable=False),
    sa.Column('n_burn', sa.Integer(), nullable=False),
    sa.Column('acceptance_fraction', sa.Double(), nullable=True),
    sa.Column('converged', sa.Boolean(), nullable=False),
    sa.Column('started_at', lightcurvedb.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', lightcurvedb.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('chain_path', lightcurvedb.core.types.PathType(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['region_id'], [f'{prefix}regions_of_interest.region_id'], name=op.f('fk_mcmc_metadata_region_id_regions_of_interest'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], [f'{prefix}pipeline_runs.run_id'], name=op.f('fk_mcmc_metadata_run_id_pipeline_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['spaxel_id'], [f'{prefix}ifu_spaxels.spaxel_id'], name=op.f('fk_mcmc_metadata_spaxel_id_ifu_spaxels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('mcmc_id', name=op.f('pk_mcmc_metadata')),
    schema=schema
    )
    op.create_index(op.f('ix_rbh1_mcmc_metadata_spaxel_id'), 'mcmc_metadata', ['spaxel_id'], unique=False, schema=schema)
    op.create_table('noise_artifacts',
    sa.Column('artifact_id', sa.Integer(), nullable=False),
    sa.Column('obs_id', sa.Integer(), nullable=False),
    sa.Column('spaxel_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('artifact_type', sa.Enum('COSMIC_RAY', 'HOT_PIXEL', 'SNOWBALL', 'MSA_LEAKAGE', 'DETECTOR_EDGE', 'STRIPING', 'OTHER', name='artifact_type', create_constraint=True, schema=schema), nullable=False),
    sa.Column('x', sa.Integer(), nullable=True),
    sa.Column('y', sa.Integer(), nullable=True),
    sa.Column('wavelength_um', sa.Double(), nullable=True),
    sa.Column('severity', sa.Double(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['obs_id'], [f'{prefix}observations.obs_id'], name=op.f('fk_noise_artifacts_obs_id_observations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['spaxel_id'], [f'{prefix}ifu_spaxels.spaxel_id'], name=op.f('fk_noise_artifacts_spaxel_id_ifu_spaxels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('artifact_id', name=op.f('pk_noise_artifacts')),
    schema=schema
    )
    op.create_index(op.f('ix_rbh1_noise_artifacts_obs_id'), 'noise_artifacts', ['obs_id'], unique=False, schema=schema)
    op.create_table('physical_properties',
    sa.Column('prop_id', sa.Integer(), nullable=False),
    sa.Column('spaxel_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('metallicity_12logoh', sa.Double(), nullable=True),
    sa.Column('metallicity_err', sa.Double(), nullable=True),
    sa.Column('extinction_av', sa.Double(), nullable=True),
    sa.Column('electron_density_cm3', sa.Double(), nullable=True),
    sa.Column('sfr_msun_yr', sa.Double(), nullable=True),
    sa.Column('method', sa.String(length=64), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], [f'{prefix}pipeline_runs.run_id'], name=op.f('fk_physical_properties_run_id_pipeline_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['spaxel_id'], [f'{prefix}ifu_spaxels.spaxel_id'], name=op.f('fk_physical_properties_spaxel_id_ifu_spaxels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('prop_id', name=op.f('pk_physical_properties')),
    sa.UniqueConstraint('spaxel_id', name=op.f('uq_physical_properties_spaxel_id')),
    schema=schema
    )
    op.create_table('mcmc_parameter_summary',
    sa.Column('summary_id', sa.Integer(), nullable=False),
    sa.Column('mcmc_id', sa.Integer(), nullable=False),
    sa.Column('parameter', sa.String(length=64), nullable=False),
    sa.Column('median', sa.Double(), nullable=False),
    sa.Column('p16', sa.Double(), nullable=False),
    sa.Column('p84', sa.Double(), nullable=False),
    sa.Column('mean', sa.Double(), nullable=True),
    sa.Column('std', sa.Double(), nullable=True),
    sa.Column('r_hat', sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(['mcmc_id'], [f'{prefix}mcmc_metadata.mcmc_id'], name=op.f('fk_mcmc_parameter_summary_mcmc_id_mcmc_metadata'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('summary_id', name=op.f('pk_mcmc_parameter_summary')),
    sa.UniqueConstraint('mcmc_id', 'parameter', name=op.f('uq_mcmc_parameter_summary_mcmc_id_parameter')),
    schema=schema
    )
    if text_footprints:
        for statement in pgpolygon.CREATE_FUNCTIONS:
            op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    schema = SCHEMA if bind.dialect.name == "postgresql" else None
    op.drop_table('mcmc_parameter_summary', schema=schema)
    op.drop_table('physical_properties', schema=schema)
    op.drop_index(op.f('ix_rbh1_noise_artifacts_obs_id'), table_name='noise_artifacts', schema=schema)
    op.drop_table('noise_artifacts', schema=schema)
    op.drop_index(op.f('ix_rbh1_mcmc_metadata_spaxel_id'), table_name='mcmc_metadata', schema=schema)
    op.drop_table('mcmc_metadata', schema=schema)
    op.drop_index(op.f('ix_rbh1_emission_lines_spaxel_id'), table_name='emission_lines', schema=schema)
    op.drop_table('emission_lines', schema=schema)
    op.drop_index(op.f('ix_rbh1_spectral_grids_grid_hash'), table_name='spectral_grids', schema=schema)
    op.drop_table('spectral_grids', schema=schema)
    op.drop_index(op.f('ix_rbh1_ifu_spaxels_region'), table_name='ifu_spaxels', schema=schema)
    op.drop_index(op.f('ix_rbh1_ifu_spaxels_ra'), table_name='ifu_spaxels', schema=schema)
    op.drop_table('ifu_spaxels', schema=schema)
    op.drop_index(op.f('ix_rbh1_wcs_solutions_ra_min'), table_name='wcs_solutions', schema=schema)
    op.drop_table('wcs_solutions', schema=schema)
    op.drop_table('observations', schema=schema)
    op.drop_table('regions_of_interest', schema=schema)
    op.drop_index(op.f('ix_rbh1_pipeline_runs_run_name'), table_name='pipeline_runs', schema=schema)
    op.drop_table('pipeline_runs', schema=schema)
    if bind.dialect.name == "postgresql":
        for statement in pgpolygon.DROP_FUNCTIONS:
            op.execute(statement)
        for name in ENUMS:
            sa.Enum(name=name, schema=SCHEMA).drop(bind, checkfirst=True)
        op.execute(f"DROP SCHEMA {SCHEMA}")
        ours = bind.exec_driver_sql(
            "SELECT obj_description(oid, 'pg_extension') FROM pg_extension "
            "WHERE extname = 'postgis'").scalar()
        if ours == POSTGIS_NOTE:
            op.execute("DROP EXTENSION postgis")
        extensions.refresh(bind)
