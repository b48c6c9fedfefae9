"""`python -m sihha_appointments`: serve the appointments service (APPOINTMENTS_* settings).
`python -m sihha_appointments relay`: its outbox relay alone, for serving processes started
with `APPOINTMENTS_OUTBOX_RELAY=separate` (`sihha_kit.runtime.run_relay`).
"""

import sys

from sihha_appointments.bootstrap import create_app
from sihha_appointments.config import AppointmentsSettings
from sihha_kit.runtime import relay_main
from sihha_kit.serve import serve

if __name__ == "__main__":
    settings = AppointmentsSettings()
    if sys.argv[1:] == ["relay"]:
        relay_main(settings)
    elif sys.argv[1:]:
        raise SystemExit(
            f"usage: python -m sihha_appointments [relay] (not {' '.join(sys.argv[1:])})"
        )
    else:
        serve(create_app(settings), settings)
