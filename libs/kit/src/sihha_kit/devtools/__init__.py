"""Developer tools: `sihha-dev` (or `python -m sihha_kit.devtools`).

    sihha-dev keys [--dir .dev/keys] [--issuer NAME ...] [--force]
        Create, each only if missing (unless --force):
        - the development issuer's key set ``sihha-dev``: jwks-private.json (RSA-2048,
          mode 0600) and jwks.json (its public half, the key id an RFC 7638 thumbprint),
          which services trust by default;
        - revoked.json, an empty revocation list (never replaced, even with --force);
        - pseudonym.key, the pseudonym HMAC key (32 random bytes as hex, mode 0600);
        - for each token-signing service (default: queue, appointments): its signing
          key set <name>-signing.json and its device-credential key <name>-device.key
          (both mode 0600); the service publishes the public half itself.

    sihha-dev token --role ROLE [--role ROLE ...] [--establishment CODE ...]
                    [--subject S] [--patient-key K | --nin NIN] [--ttl-hours H]
                    [--issuer I] [--audience A] [--dir .dev/keys]
        Print a signed token on stdout (and nothing else), e.g.
        ``TOKEN=$(sihha-dev token --role receptionist --establishment 31-PC-001)``.

    sihha-dev revoke (--jti ID [--expires ISO] | --subject S) [--dir .dev/keys]
        Add a revocation to revoked.json (what services read every 15 s, setting
        REVOCATION_LISTS): one token by its id, or every token of a subject issued
        until now. Entries of tokens already expired are dropped.

    sihha-dev enrol --service URL --establishment CODE --role kiosk|display|counter_agent|doctor|pharmacist
                    [--label L] [--claim] [--dir .dev/keys]
        Register a clinic terminal with a service that enrols terminals (as an IT unit
        acting for that establishment, with a development token) and print its
        one-time enrolment code; with --claim, claim it at once and print the device
        credential instead (for scripts and simulators).

    sihha-dev pseudonym NIN [--dir .dev/keys]
        Print the pseudonymous patient key of an 18-digit NIN ("-" reads it from
        standard input, which keeps it out of the shell history).

Exit status: 0 on success, 1 when key files are missing or inconsistent or a service
refuses, 2 for invalid arguments. Messages other than results go to stderr.
These keys are for development and tests only.
"""

from sihha_kit.devtools.cli import (
    DEFAULT_DIR,
    DEVICE_KEY_SUFFIX,
    PSEUDONYM_KEY_FILE,
    REVOCATIONS_FILE,
    SIGNING_KEYS_SUFFIX,
    TOKEN_SIGNING_SERVICES,
    dev_environment,
    main,
)
from sihha_kit.devtools.tokens import (
    DEFAULT_ISSUER,
    PRIVATE_KEY_SET_FILE,
    PUBLIC_KEY_SET_FILE,
    TokenIssuer,
)

__all__ = [
    "DEFAULT_DIR",
    "DEFAULT_ISSUER",
    "DEVICE_KEY_SUFFIX",
    "PRIVATE_KEY_SET_FILE",
    "PSEUDONYM_KEY_FILE",
    "PUBLIC_KEY_SET_FILE",
    "REVOCATIONS_FILE",
    "SIGNING_KEYS_SUFFIX",
    "TOKEN_SIGNING_SERVICES",
    "TokenIssuer",
    "dev_environment",
    "main",
]
