"""device secrets for the app lock

Each device's unlock secret and recovery key, wrapped under the server's device key from
the environment (outreach.auth.device_keys); rotated on every password sign-in, deleted
when the device is revoked.

Revision ID: c7e1d2a9f4b3
Revises: security_0001
Create Date: 2026-12-06 17:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c7e1d2a9f4b3'
down_revision = 'security_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('device_key',
    sa.Column('device_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('unlock_secret', sa.LargeBinary(length=128), nullable=False),
    sa.Column('recovery_key', sa.LargeBinary(length=128), nullable=False),
    sa.Column('previous_generation', sa.Integer(), nullable=True),
    sa.Column('previous_recovery_key', sa.LargeBinary(length=128), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_device_key_device_id_device'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_device_key_user_id_user_account')),
    sa.PrimaryKeyConstraint('device_id', name=op.f('pk_device_key'))
    )
    with op.batch_alter_table('device_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_key_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('device_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_key_user_id'))
    op.drop_table('device_key')
