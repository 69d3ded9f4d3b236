"""Alembic revisions of the archscale schema, applied in order (0001, 0002, ...)."""
