"""`python -m sihha_appointments`: serve the appointments service (APPOINTMENTS_* settings)."""

from sihha_appointments.bootstrap import create_app
from sihha_appointments.config import AppointmentsSettings
from sihha_kit.serve import serve

if __name__ == "__main__":
    settings = AppointmentsSettings()
    serve(create_app(settings), settings)
