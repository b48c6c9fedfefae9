"""Payload models, one module per producing service.

Importing this package registers every model in the catalogue; a new module
must be imported here (a test checks that each service's module is).
"""

from sihha_contracts.events import (  # noqa: F401
    appointments,
    emergency,
    queue,
    records,
    reporting,
)
