"""Mission tables (TESS, HST, JWST joined-table subclasses) and DataSet.unit.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 11:52:44.492467

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('hst_observation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.String(length=16), nullable=False),
    sa.Column('filter_name', sa.String(length=32), nullable=False),
    sa.Column('exposure_time', sa.Double(), nullable=False),
    sa.Column('detector', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['id'], ['observation.id'], name=op.f('fk_hst_observation_id_observation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hst_observation'))
    )
    with op.batch_alter_table('hst_observation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hst_observation_program_id'), ['program_id'], unique=False)

    op.create_table('jwst_observation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('observation_number', sa.Integer(), nullable=False),
    sa.Column('visit_number', sa.Integer(), nullable=False),
    sa.Column('grating', sa.String(length=16), nullable=True),
    sa.Column('filter_name', sa.String(length=32), nullable=True),
    sa.Column('exposure_time', sa.Double(), nullable=False),
    sa.Column('exposure_type', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['id'], ['observation.id'], name=op.f('fk_jwst_observation_id_observation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jwst_observation'))
    )
    with op.batch_alter_table('jwst_observation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jwst_observation_program_id'), ['program_id'], unique=False)

    op.create_table('tess_observation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sector', sa.SmallInteger(), nullable=False),
    sa.Column('orbit_number', sa.Integer(), nullable=True),
    sa.Column('cadence_seconds', sa.SmallInteger(), nullable=False),
    sa.Column('cosmic_ray_mitigation', sa.Boolean(), nullable=False),
    sa.Column('spacecraft_quaternion', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True),
    sa.CheckConstraint('cadence_seconds IN (20, 120, 200, 600, 1800)', name=op.f('ck_tess_observation_cadence_seconds')),
    sa.CheckConstraint('sector > 0', name=op.f('ck_tess_observation_sector_positive')),
    sa.ForeignKeyConstraint(['id'], ['observation.id'], name=op.f('fk_tess_observation_id_observation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tess_observation'))
    )
    with op.batch_alter_table('tess_observation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tess_observation_sector'), ['sector'], unique=False)

    op.create_table('hst_frame',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rootname', sa.String(length=64), nullable=False),
    sa.Column('exposure_start_mjd', sa.Double(), nullable=False),
    sa.Column('exposure_time', sa.Double(), nullable=False),
    sa.Column('filter_name', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['id'], ['fits_frame.id'], name=op.f('fk_hst_frame_id_fits_frame'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hst_frame'))
    )
    with op.batch_alter_table('hst_frame', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hst_frame_rootname'), ['rootname'], unique=False)

    op.create_table('jwst_frame',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rootname', sa.String(length=64), nullable=False),
    sa.Column('exposure_start_mjd', sa.Double(), nullable=False),
    sa.Column('exposure_time', sa.Double(), nullable=False),
    sa.Column('filter_name', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['id'], ['fits_frame.id'], name=op.f('fk_jwst_frame_id_fits_frame'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jwst_frame'))
    )
    with op.batch_alter_table('jwst_frame', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jwst_frame_rootname'), ['rootname'], unique=False)

    op.create_table('tess_ffi_frame',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('camera', sa.SmallInteger(), nullable=False),
    sa.Column('ccd', sa.SmallInteger(), nullable=False),
    sa.Column('start_btjd', sa.Double(), nullable=False),
    sa.Column('end_btjd', sa.Double(), nullable=False),
    sa.Column('exposure_time', sa.Double(), nullable=False),
    sa.Column('quality', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['id'], ['fits_frame.id'], name=op.f('fk_tess_ffi_frame_id_fits_frame'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tess_ffi_frame'))
    )
    with op.batch_alter_table('dataset', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit', sa.String(length=32), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('dataset', schema=None) as batch_op:
        batch_op.drop_column('unit')

    op.drop_table('tess_ffi_frame')
    with op.batch_alter_table('jwst_frame', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jwst_frame_rootname'))

    op.drop_table('jwst_frame')
    with op.batch_alter_table('hst_frame', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hst_frame_rootname'))

    op.drop_table('hst_frame')
    with op.batch_alter_table('tess_observation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tess_observation_sector'))

    op.drop_table('tess_observation')
    with op.batch_alter_table('jwst_observation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jwst_observation_program_id'))

    op.drop_table('jwst_observation')
    with op.batch_alter_table('hst_observation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hst_observation_program_id'))

    op.drop_table('hst_observation')
