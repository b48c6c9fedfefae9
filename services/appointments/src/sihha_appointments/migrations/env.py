from sihha_kit.alembic_env import run

run()
