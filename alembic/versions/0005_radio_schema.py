"""DSA-110 radio products: the pipeline's 14 tables and 2 views, in schema ``radio``.

Also gives core targets a string ``designation`` (NVSS ids are names, not numbers).

Adopts databases the DSA-110 pipeline created with its own DDL (or with its
``migrate_products_db`` helper): a table or index that already exists is left as
it is, not recreated, so ``lcdb db upgrade`` on a pipeline database keeps its
rows. On SQLite the tables live in the main database (no schemas there).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

"""
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import lightcurvedb.core.types

revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "radio"
GOOD_REFERENCES = """SELECT * FROM {prefix}sources
WHERE s_nvss IS NOT NULL
  AND snr_nvss >= 7.0
  AND (alpha BETWEEN -1.5 AND 0.5 OR alpha IS NULL)
  AND resolved_flag = 0
  AND confusion_flag = 0"""
FINAL_REFERENCES = """SELECT * FROM {prefix}good_references
WHERE snr_nvss >= 10.0"""


def _create_table(name: str, *elements: Any, schema: str | None = None, **kw: Any) -> None:
    """Create a table unless the pipeline's own DDL already made it (adoption)."""
    if not sa.inspect(op.get_bind()).has_table(name, schema=schema):
        op.create_table(name, *elements, schema=schema, **kw)


def _create_index(name: str, table: str, columns: list[str], schema: str | None = None,
                  **kw: Any) -> None:
    op.create_index(name, table, columns, schema=schema, if_not_exists=True, **kw)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    # SQLite has no schemas (and drops foreign keys that cross one): main database there.
    schema = SCHEMA if bind.dialect.name == "postgresql" else None
    prefix = f"{schema}." if schema else ""
    _create_table('alert_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Text(), nullable=False),
    sa.Column('alert_type', sa.Text(), nullable=False),
    sa.Column('severity', sa.Text(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('sent_at', lightcurvedb.core.types.UnixTimestamp(), nullable=False),
    sa.Column('channel', sa.Text(), nullable=True),
    sa.Column('success', lightcurvedb.core.types.IntegerBool(), server_default=sa.text('1'), nullable=True),
    sa.Column('error_msg', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_history')),
    schema=schema,
    sqlite_autoincrement=True
    )
    _create_index('idx_alert_sent', 'alert_history', ['sent_at'], schema=schema)
    _create_index('idx_alert_source', 'alert_history', ['source_id'], schema=schema)
    _create_index('idx_alert_type', 'alert_history', ['alert_type'], schema=schema)
    _create_table('caltables',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('set_name', sa.Text(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('table_type', sa.Text(), nullable=False),
    sa.Column('order_index', sa.Integer(), nullable=False),
    sa.Column('valid_start_mjd', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=False),
    sa.Column('valid_end_mjd', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=False),
    sa.Column('created_at', lightcurvedb.core.types.UnixTimestamp(), nullable=False),
    sa.Column('active', lightcurvedb.core.types.IntegerBool(), server_default=sa.text('1'), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_caltables')),
    sa.UniqueConstraint('path', name=op.f('uq_caltables_path')),
    schema=schema,
    sqlite_autoincrement=True
    )
    _create_index('idx_caltables_active', 'caltables', ['active'], schema=schema)
    _create_index('idx_caltables_set', 'caltables', ['set_name'], schema=schema)
    _create_index('idx_caltables_valid', 'caltables', ['valid_start_mjd', 'valid_end_mjd'], schema=schema)
    _create_table('ingest_queue',
    sa.Column('group_id', sa.Text(), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('received_at', lightcurvedb.core.types.UnixTimestamp(), nullable=False),
    sa.Column('last_update', lightcurvedb.core.types.UnixTimestamp(), nullable=False),
    sa.Column('expected_subbands', sa.Integer(), server_default=sa.text('16'), nullable=True),
    sa.Column('has_calibrator', lightcurvedb.core.types.IntegerBool(), nullable=True),
    sa.Column('calibrators', sa.Text(), nullable=True),
    sa.Column('retry_count', sa.Integer(), server_default=sa.text('0'), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('group_id', name=op.f('pk_ingest_queue')),
    schema=schema,
    sqlite_autoincrement=True
    )
    _create_index('idx_ingest_received', 'ingest_queue', ['received_at'], schema=schema)
    _create_index('idx_ingest_state', 'ingest_queue', ['state'], schema=schema)
    _create_table('mosaics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('created_at', lightcurvedb.core.types.UnixTimestamp(), nullable=False),
    sa.Column('start_mjd', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=False),
    sa.Column('end_mjd', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=False),
    sa.Column('integration_sec', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('n_images', sa.Integer(), nullable=True),
    sa.Column('center_ra_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('center_dec_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('dec_min_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('dec_max_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('noise_jy', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('beam_major_arcsec', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('beam_minor_arcsec', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('beam_pa_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('n_sources', sa.Integer(), nullable=True),
    sa.Column('thumbnail_path', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mosaics')),
    sa.UniqueConstraint('path', name=op.f('uq_mosaics_path')),
    schema=schema,
    sqlite_autoincrement=True
    )
    _create_index('idx_mosaics_created', 'mosaics', ['created_at'], schema=schema)
    _create_index('idx_mosaics_mjd', 'mosaics', ['start_mjd', 'end_mjd'], schema=schema)
    _create_table('ms_index',
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('start_mjd', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('end_mjd', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('mid_mjd', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('processed_at', lightcurvedb.core.types.UnixTimestamp(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('stage', sa.Text(), nullable=True),
    sa.Column('stage_updated_at', lightcurvedb.core.types.UnixTimestamp(), nullable=True),
    sa.Column('cal_applied', lightcurvedb.core.types.IntegerBool(), server_default=sa.text('0'), nullable=True),
    sa.Column('imagename', sa.Text(), nullable=True),
    sa.Column('field_name', sa.Text(), nullable=True),
    sa.Column('pointing_ra_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('pointing_dec_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.PrimaryKeyConstraint('path', name=op.f('pk_ms_index')),
    schema=schema,
    sqlite_autoincrement=True
    )
    _create_index('idx_ms_index_field', 'ms_index', ['field_name'], schema=schema)
    _create_index('idx_ms_index_mjd', 'ms_index', ['mid_mjd'], schema=schema)
    _create_index('idx_ms_index_stage_path', 'ms_index', ['stage', 'path'], schema=schema)
    _create_index('idx_ms_index_status', 'ms_index', ['status'], schema=schema)
    _create_table('pointing_history',
    sa.Column('timestamp', lightcurvedb.core.types.UnixTimestamp(), nullable=False),
    sa.Column('mjd', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('ra_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=False),
    sa.Column('dec_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=False),
    sa.Column('alt_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('az_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('lst_hours', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('field_name', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('timestamp', name=op.f('pk_pointing_history')),
    schema=schema,
    sqlite_autoincrement=True
    )
    _create_index('idx_pointing_dec', 'pointing_history', ['dec_deg'], schema=schema)
    _create_index('idx_pointing_mjd', 'pointing_history', ['mjd'], schema=schema)
    _create_table('qa_artifacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('type', sa.Text(), nullable=True),
    sa.Column('category', sa.Text(), nullable=True),
    sa.Column('created_at', lightcurvedb.core.types.UnixTimestamp(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_artifacts')),
    sa.UniqueConstraint('group_id', 'name', name=op.f('uq_qa_artifacts_group_id_name')),
    schema=schema,
    sqlite_autoincrement=True
    )
    _create_index('idx_qa_created', 'qa_artifacts', ['created_at'], schema=schema)
    _create_index('idx_qa_group', 'qa_artifacts', ['group_id'], schema=schema)
    _create_table('sources',
    sa.Column('source_id', sa.Text(), nullable=False),
    sa.Column('ra_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=False),
    sa.Column('dec_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=False),
    sa.Column('s_nvss', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('snr_nvss', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('s_vlass', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('alpha', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('resolved_flag', lightcurvedb.core.types.IntegerBool(), server_default=sa.text('0'), nullable=True),
    sa.Column('confusion_flag', lightcurvedb.core.types.IntegerBool(), server_default=sa.text('0'), nullable=True),
    sa.Column('first_size_maj_arcsec', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('first_size_min_arcsec', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('first_size_pa_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.PrimaryKeyConstraint('source_id', name=op.f('pk_sources')),
    schema=schema,
    sqlite_autoincrement=True
    )
    _create_index('idx_sources_alpha', 'sources', ['alpha'], schema=schema)
    _create_index('idx_sources_flux', 'sources', ['s_nvss'], schema=schema)
    _create_index('idx_sources_ra_dec', 'sources', ['ra_deg', 'dec_deg'], schema=schema)
    _create_table('variability_stats',
    sa.Column('source_id', sa.Text(), nullable=False),
    sa.Column('ra_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=False),
    sa.Column('dec_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=False),
    sa.Column('nvss_flux_mjy', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('n_obs', sa.Integer(), server_default=sa.text('0'), nullable=True),
    sa.Column('mean_flux_mjy', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('std_flux_mjy', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('min_flux_mjy', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('max_flux_mjy', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('chi2_nu', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('sigma_deviation', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('last_measured_at', lightcurvedb.core.types.UnixTimestamp(), nullable=True),
    sa.Column('last_mjd', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('updated_at', lightcurvedb.core.types.UnixTimestamp(), nullable=False),
    sa.PrimaryKeyConstraint('source_id', name=op.f('pk_variability_stats')),
    schema=schema,
    sqlite_autoincrement=True
    )
    _create_index('idx_variability_chi2', 'variability_stats', ['chi2_nu'], schema=schema)
    _create_index('idx_variability_last_mjd', 'variability_stats', ['last_mjd'], schema=schema)
    _create_index('idx_variability_sigma', 'variability_stats', ['sigma_deviation'], schema=schema)
    _create_table('ese_candidates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Text(), nullable=False),
    sa.Column('flagged_at', lightcurvedb.core.types.UnixTimestamp(), nullable=False),
    sa.Column('flagged_by', sa.Text(), server_default=sa.text("'auto'"), nullable=True),
    sa.Column('significance', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=False),
    sa.Column('flag_type', sa.Text(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), server_default=sa.text("'active'"), nullable=True),
    sa.Column('investigated_at', lightcurvedb.core.types.UnixTimestamp(), nullable=True),
    sa.Column('dismissed_at', lightcurvedb.core.types.UnixTimestamp(), nullable=True),
    sa.ForeignKeyConstraint(['source_id'], [f'{prefix}variability_stats.source_id'], name=op.f('fk_ese_candidates_source_id_variability_stats')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ese_candidates')),
    schema=schema,
    sqlite_autoincrement=True
    )
    _create_index('idx_ese_flagged', 'ese_candidates', ['flagged_at'], schema=schema)
    _create_index('idx_ese_source', 'ese_candidates', ['source_id'], schema=schema)
    _create_index('idx_ese_status', 'ese_candidates', ['status'], schema=schema)
    _create_table('images',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('ms_path', sa.Text(), nullable=False),
    sa.Column('created_at', lightcurvedb.core.types.UnixTimestamp(), nullable=False),
    sa.Column('type', sa.Text(), nullable=False),
    sa.Column('format', sa.Text(), server_default=sa.text("'fits'"), nullable=True),
    sa.Column('beam_major_arcsec', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('beam_minor_arcsec', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('beam_pa_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('noise_jy', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('dynamic_range', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('pbcor', lightcurvedb.core.types.IntegerBool(), server_default=sa.text('0'), nullable=True),
    sa.Column('field_name', sa.Text(), nullable=True),
    sa.Column('center_ra_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('center_dec_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('imsize_x', sa.Integer(), nullable=True),
    sa.Column('imsize_y', sa.Integer(), nullable=True),
    sa.Column('cellsize_arcsec', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('freq_ghz', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('bandwidth_mhz', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('integration_sec', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['ms_path'], [f'{prefix}ms_index.path'], name=op.f('fk_images_ms_path_ms_index')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_images')),
    sa.UniqueConstraint('path', name=op.f('uq_images_path')),
    schema=schema,
    sqlite_autoincrement=True
    )
    _create_index('idx_images_created', 'images', ['created_at'], schema=schema)
    _create_index('idx_images_field', 'images', ['field_name'], schema=schema)
    _create_index('idx_images_ms_path', 'images', ['ms_path'], schema=schema)
    _create_index('idx_images_type', 'images', ['type'], schema=schema)
    _create_table('performance_metrics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Text(), nullable=False),
    sa.Column('writer_type', sa.Text(), nullable=True),
    sa.Column('conversion_time', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('concat_time', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('k_solve_time', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('bp_solve_time', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('g_solve_time', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('imaging_time', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('photometry_time', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('total_time', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('recorded_at', lightcurvedb.core.types.UnixTimestamp(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], [f'{prefix}ingest_queue.group_id'], name=op.f('fk_performance_metrics_group_id_ingest_queue')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_performance_metrics')),
    sa.UniqueConstraint('group_id', name=op.f('uq_performance_metrics_group_id')),
    schema=schema,
    sqlite_autoincrement=True
    )
    _create_index('idx_perf_group', 'performance_metrics', ['group_id'], schema=schema)
    _create_table('subband_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Text(), nullable=False),
    sa.Column('subband_idx', sa.Integer(), nullable=False),
    sa.Column('file_path', sa.Text(), nullable=False),
    sa.Column('file_size', sa.Integer(), nullable=True),
    sa.Column('discovered_at', lightcurvedb.core.types.UnixTimestamp(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], [f'{prefix}ingest_queue.group_id'], name=op.f('fk_subband_files_group_id_ingest_queue')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subband_files')),
    sa.UniqueConstraint('group_id', 'subband_idx', name=op.f('uq_subband_files_group_id_subband_idx')),
    schema=schema,
    sqlite_autoincrement=True
    )
    _create_index('idx_subband_group', 'subband_files', ['group_id'], schema=schema)
    _create_table('photometry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('image_path', sa.Text(), nullable=False),
    sa.Column('source_id', sa.Text(), nullable=False),
    sa.Column('ra_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=False),
    sa.Column('dec_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=False),
    sa.Column('nvss_flux_mjy', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('peak_jyb', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=False),
    sa.Column('peak_err_jyb', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('snr', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('measured_at', lightcurvedb.core.types.UnixTimestamp(), nullable=False),
    sa.Column('mjd', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('sep_from_center_deg', sa.REAL().with_variant(sa.DOUBLE_PRECISION(), 'postgresql'), nullable=True),
    sa.Column('flags', sa.Integer(), server_default=sa.text('0'), nullable=True),
    sa.ForeignKeyConstraint(['image_path'], [f'{prefix}images.path'], name=op.f('fk_photometry_image_path_images')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_photometry')),
    schema=schema,
    sqlite_autoincrement=True
    )
    _create_index('idx_photometry_image', 'photometry', ['image_path'], schema=schema)
    _create_index('idx_photometry_mjd', 'photometry', ['mjd'], schema=schema)
    _create_index('idx_photometry_source', 'photometry', ['source_id'], schema=schema)
    _create_index('idx_photometry_source_mjd', 'photometry', ['source_id', 'mjd'], schema=schema)
    with op.batch_alter_table("target") as batch:
        batch.add_column(sa.Column("designation", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_target_catalog_id_designation",
                                       ["catalog_id", "designation"])
    if bind.dialect.name == "postgresql":
        op.execute(f"CREATE OR REPLACE VIEW {prefix}good_references AS "
                   + GOOD_REFERENCES.format(prefix=prefix))
        op.execute(f"CREATE OR REPLACE VIEW {prefix}final_references AS "
                   + FINAL_REFERENCES.format(prefix=prefix))
    else:
        op.execute("CREATE VIEW IF NOT EXISTS good_references AS "
                   + GOOD_REFERENCES.format(prefix=""))
        op.execute("CREATE VIEW IF NOT EXISTS final_references AS "
                   + FINAL_REFERENCES.format(prefix=""))


def downgrade() -> None:
    bind = op.get_bind()
    schema = SCHEMA if bind.dialect.name == "postgresql" else None
    prefix = f"{schema}." if schema else ""
    op.execute(f"DROP VIEW IF EXISTS {prefix}final_references")
    op.execute(f"DROP VIEW IF EXISTS {prefix}good_references")
    with op.batch_alter_table("target") as batch:
        batch.drop_constraint("uq_target_catalog_id_designation", type_="unique")
        batch.drop_column("designation")
    op.drop_index('idx_photometry_source_mjd', table_name='photometry', schema=schema)
    op.drop_index('idx_photometry_source', table_name='photometry', schema=schema)
    op.drop_index('idx_photometry_mjd', table_name='photometry', schema=schema)
    op.drop_index('idx_photometry_image', table_name='photometry', schema=schema)
    op.drop_table('photometry', schema=schema)
    op.drop_index('idx_subband_group', table_name='subband_files', schema=schema)
    op.drop_table('subband_files', schema=schema)
    op.drop_index('idx_perf_group', table_name='performance_metrics', schema=schema)
    op.drop_table('performance_metrics', schema=schema)
    op.drop_index('idx_images_type', table_name='images', schema=schema)
    op.drop_index('idx_images_ms_path', table_name='images', schema=schema)
    op.drop_index('idx_images_field', table_name='images', schema=schema)
    op.drop_index('idx_images_created', table_name='images', schema=schema)
    op.drop_table('images', schema=schema)
    op.drop_index('idx_ese_status', table_name='ese_candidates', schema=schema)
    op.drop_index('idx_ese_source', table_name='ese_candidates', schema=schema)
    op.drop_index('idx_ese_flagged', table_name='ese_candidates', schema=schema)
    op.drop_table('ese_candidates', schema=schema)
    op.drop_index('idx_variability_sigma', table_name='variability_stats', schema=schema)
    op.drop_index('idx_variability_last_mjd', table_name='variability_stats', schema=schema)
    op.drop_index('idx_variability_chi2', table_name='variability_stats', schema=schema)
    op.drop_table('variability_stats', schema=schema)
    op.drop_index('idx_sources_ra_dec', table_name='sources', schema=schema)
    op.drop_index('idx_sources_flux', table_name='sources', schema=schema)
    op.drop_index('idx_sources_alpha', table_name='sources', schema=schema)
    op.drop_table('sources', schema=schema)
    op.drop_index('idx_qa_group', table_name='qa_artifacts', schema=schema)
    op.drop_index('idx_qa_created', table_name='qa_artifacts', schema=schema)
    op.drop_table('qa_artifacts', schema=schema)
    op.drop_index('idx_pointing_mjd', table_name='pointing_history', schema=schema)
    op.drop_index('idx_pointing_dec', table_name='pointing_history', schema=schema)
    op.drop_table('pointing_history', schema=schema)
    op.drop_index('idx_ms_index_status', table_name='ms_index', schema=schema)
    op.drop_index('idx_ms_index_stage_path', table_name='ms_index', schema=schema)
    op.drop_index('idx_ms_index_mjd', table_name='ms_index', schema=schema)
    op.drop_index('idx_ms_index_field', table_name='ms_index', schema=schema)
    op.drop_table('ms_index', schema=schema)
    op.drop_index('idx_mosaics_mjd', table_name='mosaics', schema=schema)
    op.drop_index('idx_mosaics_created', table_name='mosaics', schema=schema)
    op.drop_table('mosaics', schema=schema)
    op.drop_index('idx_ingest_state', table_name='ingest_queue', schema=schema)
    op.drop_index('idx_ingest_received', table_name='ingest_queue', schema=schema)
    op.drop_table('ingest_queue', schema=schema)
    op.drop_index('idx_caltables_valid', table_name='caltables', schema=schema)
    op.drop_index('idx_caltables_set', table_name='caltables', schema=schema)
    op.drop_index('idx_caltables_active', table_name='caltables', schema=schema)
    op.drop_table('caltables', schema=schema)
    op.drop_index('idx_alert_type', table_name='alert_history', schema=schema)
    op.drop_index('idx_alert_source', table_name='alert_history', schema=schema)
    op.drop_index('idx_alert_sent', table_name='alert_history', schema=schema)
    op.drop_table('alert_history', schema=schema)
    if bind.dialect.name == "postgresql":
        op.execute(f"DROP SCHEMA {SCHEMA}")
