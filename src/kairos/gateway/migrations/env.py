from kairos.gateway.tables import metadata
from kairos.platform.db.alembic_env import run

run(metadata)
