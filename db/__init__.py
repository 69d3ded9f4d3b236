"""archscale.migrations: the Alembic migrations of the results database (this folder is `db/` in the
source tree and ships inside the package). Run them with `archscale db upgrade --db URL`."""
