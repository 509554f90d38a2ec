from kairos.appointments.tables import metadata
from kairos.platform.db.alembic_env import run

run(metadata)
