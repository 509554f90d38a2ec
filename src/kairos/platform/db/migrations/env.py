from kairos.platform.db.alembic_env import run
from kairos.platform.db.schema import metadata

run(metadata)
