"""roundups: per-channel size, quiet weeks and publishing; the roundup outbox

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("destinations") as batch:
        batch.add_column(sa.Column("roundup_size", sa.Integer(), server_default="15", nullable=False))
        batch.add_column(sa.Column("roundup_quiet", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("roundup_public", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("roundups") as batch:
        batch.alter_column("week", existing_type=sa.String(length=8), type_=sa.String(length=16), existing_nullable=False)
        batch.add_column(sa.Column("content", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("part_ids", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("thread_id", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("claim_token", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("maybe_posted", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch.create_index("ix_roundups_status_due", ["status", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("roundups") as batch:
        batch.drop_index("ix_roundups_status_due")
        for name in ("last_error", "maybe_posted", "claimed_until", "claim_token", "attempts",
                     "due_at", "thread_id", "part_ids", "content"):
            batch.drop_column(name)
        batch.alter_column("week", existing_type=sa.String(length=16), type_=sa.String(length=8), existing_nullable=False)
    with op.batch_alter_table("destinations") as batch:
        for name in ("roundup_public", "roundup_quiet", "roundup_size"):
            batch.drop_column(name)
