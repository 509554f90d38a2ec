from kairos.documents.tables import metadata
from kairos.platform.db.alembic_env import run

run(metadata)
