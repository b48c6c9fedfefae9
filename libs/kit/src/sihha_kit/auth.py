"""Who is calling, and what they may do.

Every caller presents a JWT signed with RS256 (`Authorization: Bearer ...`).
Its claims:

- ``sub``: the person or terminal (e.g. ``kiosk:31-PC-001:1``);
- ``roles``: a non-empty list of `Role` values; an unknown role makes the
  whole token invalid (a typo must not silently grant less, or more);
- ``establishments``: the establishment codes the caller may act for
  (``"31-PC-001"``); ``"*"`` means every establishment of the wilaya and is
  honoured only for the wide roles (`WIDE_ROLES`: wilaya_group, it_unit,
  ministry, admin) — for anyone else it grants nothing;
- ``patient_key``: for a citizen (and only for a citizen), the pseudonymous
  patient key (64 lowercase hex digits, see `sihha_kit.pseudonym`);
- ``iss``, ``aud``, ``iat``, ``exp`` (all required) and ``jti`` (optional,
  becomes `Caller.token_id`).

Only RS256 is accepted: tokens with ``alg: none``, HS256 or any other
algorithm are refused, whatever their signature.

Failures raise `AuthError` (a `sihha_kit.errors.DomainProblem`), rendered as
problem+json by `sihha_kit.problems`: 401 when the token is missing, expired or
invalid, 403 when a valid caller lacks the role or the establishment. Every
message exists in French and in Arabic. Stable codes: ``token-missing``,
``token-expired``, ``token-invalid``, ``token-claims-invalid``,
``role-forbidden``, ``establishment-forbidden``.

FastAPI integration. A service builds one `Authorizer` and asks it for a
dependency per route::

    require = Authorizer(verifier)          # or Authorizer() — see below

    @router.post("/tickets")
    async def take_ticket(
        body: TicketRequest,
        caller: Annotated[Caller, Depends(require(Role.receptionist, Role.kiosk))],
    ) -> Ticket:
        ensure_establishment(caller, body.establishment)
        ...

With ``from __future__ import annotations`` FastAPI evaluates the annotation
in the module's globals, so ``require`` must then be a module-level name (as
above), not a local variable.

`require(*roles)` passes when the caller holds any of `roles` (with no roles:
any authenticated caller). No role implies another: ``admin`` gets exactly
the routes that name it. The role check cannot know which establishment a
request is about, so the route calls `ensure_establishment` once it does.

Where the verifier comes from: a service whose keys are known at import time
passes it to `Authorizer(verifier)`. A service that loads its settings in the
lifespan uses `Authorizer()` and stores the verifier on
``app.state.token_verifier`` (`install_verifier(app, verifier)`); the
dependency then looks it up on ``request.app.state`` for each request (a
missing verifier there is a programming error and fails loudly, not a 401).
The authenticated caller is also left on ``request.state.caller``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from sihha_kit.errors import DomainProblem
from sihha_kit.problems import declare_problems

__all__ = [
    "ALGORITHM",
    "DEFAULT_AUDIENCE",
    "DEFAULT_ISSUER",
    "WIDE_ROLES",
    "WILDCARD",
    "AuthError",
    "Authorizer",
    "Caller",
    "Role",
    "TokenIssuer",
    "TokenVerifier",
    "bearer_security",
    "ensure_establishment",
    "install_verifier",
    "load_private_key",
    "load_public_key",
    "parse_roles",
]

ALGORITHM: Final = "RS256"
DEFAULT_ISSUER: Final = "sihha-dev"
DEFAULT_AUDIENCE: Final = "sihha"
#: in `establishments`: every establishment of the wilaya (wide roles only)
WILDCARD: Final = "*"
#: the state attribute `Authorizer()` reads the verifier from
STATE_ATTRIBUTE: Final = "token_verifier"
#: RSA keys shorter than this are refused
MIN_RSA_BITS: Final = 2048
#: tokens longer than this are refused before any parsing
MAX_TOKEN_CHARS: Final = 8192
_MAX_ESTABLISHMENTS: Final = 500
_MAX_CODE_CHARS: Final = 64
_PATIENT_KEY = re.compile(r"[0-9a-f]{64}")


class Role(StrEnum):
    """What a caller does. A token carries one or more."""

    receptionist = "receptionist"
    """Registers patients and issues tickets at a reception desk."""
    counter_agent = "counter_agent"
    """Calls and serves tickets at a counter or consultation door."""
    doctor = "doctor"
    pharmacist = "pharmacist"
    nurse = "nurse"
    scheduler = "scheduler"
    """Manages appointment calendars."""
    citizen = "citizen"
    """A patient acting for themself; the token carries their `patient_key`."""
    it_unit = "it_unit"
    """The directorate's IT unit."""
    wilaya_group = "wilaya_group"
    """The wilaya health directorate's oversight group."""
    ministry = "ministry"
    admin = "admin"
    kiosk = "kiosk"
    """A reception terminal acting without a person (a ticket kiosk in a waiting
    room): its subject names the terminal, its establishments are the one
    establishment it stands in, and it holds no other role."""


_ROLE_NAMES: Final = frozenset(role.value for role in Role)

#: the roles for which the establishment wildcard ``"*"`` means something
WIDE_ROLES: Final = frozenset({Role.wilaya_group, Role.it_unit, Role.ministry, Role.admin})


class AuthError(DomainProblem):
    """401 (who are you?) or 403 (you may not), with a stable code and bilingual detail."""


def _unauthenticated(code: str, detail_fr: str, detail_ar: str) -> AuthError:
    return AuthError(401, code, detail_fr, detail_ar, title="Unauthenticated")


def _token_missing() -> AuthError:
    return _unauthenticated(
        "token-missing",
        "Jeton d'accès manquant : envoyez l'en-tête « Authorization: Bearer <jeton> ».",
        "رمز الدخول مفقود: أرسل الترويسة «Authorization: Bearer <الرمز>».",
    )


def _token_expired() -> AuthError:
    return _unauthenticated(
        "token-expired",
        "Le jeton d'accès a expiré ; reconnectez-vous.",
        "انتهت صلاحية رمز الدخول؛ يرجى تسجيل الدخول من جديد.",
    )


def _token_invalid(reason_fr: str, reason_ar: str) -> AuthError:
    return _unauthenticated(
        "token-invalid",
        f"Jeton d'accès invalide : {reason_fr}.",
        f"رمز الدخول غير صالح: {reason_ar}.",
    )


def _claims_invalid(reason_fr: str, reason_ar: str) -> AuthError:
    return _unauthenticated(
        "token-claims-invalid",
        f"Le contenu du jeton d'accès est invalide : {reason_fr}.",
        f"محتوى رمز الدخول غير صالح: {reason_ar}.",
    )


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller, as its token describes it."""

    subject: str
    roles: frozenset[Role]
    #: establishment codes; ``"*"`` = all of the wilaya (wide roles only)
    establishments: frozenset[str]
    #: for a citizen: the pseudonymous patient key
    patient_key: str | None = None
    #: the token's ``jti``, for audit
    token_id: str | None = None

    def has_any(self, *roles: Role) -> bool:
        """Whether the caller holds at least one of `roles`."""
        return any(role in self.roles for role in roles)

    @property
    def wilaya_wide(self) -> bool:
        """Whether the caller may act for every establishment of the wilaya."""
        return WILDCARD in self.establishments and not self.roles.isdisjoint(WIDE_ROLES)

    def may_act_for(self, establishment: str) -> bool:
        """Whether the caller may act for the establishment with this code."""
        if not establishment or establishment == WILDCARD:
            return False
        return establishment in self.establishments or self.wilaya_wide


def ensure_establishment(caller: Caller, establishment_code: str) -> None:
    """Raise AuthError(403, "establishment-forbidden") unless the caller may act for it."""
    if not caller.may_act_for(establishment_code):
        raise AuthError(
            403,
            "establishment-forbidden",
            f"Vous n'êtes pas autorisé à agir pour l'établissement {establishment_code}.",
            f"غير مسموح لك بالتصرف باسم المؤسسة {establishment_code}.",
            title="Forbidden",
            establishment=establishment_code,
        )


def parse_roles(values: Iterable[str]) -> frozenset[Role]:
    """Roles from their names; ValueError names the first unknown one."""
    roles: set[Role] = set()
    for value in values:
        try:
            roles.add(Role(value))
        except ValueError:
            known = ", ".join(role.value for role in Role)
            raise ValueError(f"unknown role {value!r} (known roles: {known})") from None
    return frozenset(roles)


def _check_consistency(
    roles: frozenset[Role], establishments: frozenset[str], patient_key: str | None
) -> tuple[str, str, str] | None:
    """What is wrong with this combination of claims (English, French, Arabic), or None."""
    if not roles:
        return ("at least one role is required", "aucun rôle", "لا يوجد أي دور")
    if Role.citizen in roles and patient_key is None:
        return (
            "a citizen needs a patient_key",
            "un citoyen doit porter une clé patient (patient_key)",
            "يجب أن يحمل المواطن مفتاح مريض (patient_key)",
        )
    if patient_key is not None and Role.citizen not in roles:
        return (
            "only a citizen carries a patient_key",
            "seul un citoyen porte une clé patient (patient_key)",
            "المواطن وحده يحمل مفتاح مريض (patient_key)",
        )
    if patient_key is not None and not _PATIENT_KEY.fullmatch(patient_key):
        return (
            "patient_key must be 64 lowercase hexadecimal digits",
            "la clé patient doit compter 64 chiffres hexadécimaux minuscules",
            "يجب أن يتكون مفتاح المريض من 64 رقمًا ست عشريًا بأحرف صغيرة",
        )
    if len(establishments) > _MAX_ESTABLISHMENTS:
        return (
            f"at most {_MAX_ESTABLISHMENTS} establishments",
            f"au plus {_MAX_ESTABLISHMENTS} établissements",
            f"{_MAX_ESTABLISHMENTS} مؤسسة على الأكثر",
        )
    for code in establishments:
        if not code or len(code) > _MAX_CODE_CHARS or code != code.strip():
            return (
                "establishment codes must be non-empty, without surrounding spaces, "
                f"at most {_MAX_CODE_CHARS} characters",
                "code d'établissement invalide",
                "رمز مؤسسة غير صالح",
            )
    return None


# -- keys --------------------------------------------------------------------------------------


def _as_bytes(pem: bytes | str) -> bytes:
    return pem.encode("ascii") if isinstance(pem, str) else bytes(pem)


def _public_key(key: bytes | str | RSAPublicKey) -> RSAPublicKey:
    if isinstance(key, RSAPublicKey):
        loaded: object = key
    else:
        try:
            loaded = serialization.load_pem_public_key(_as_bytes(key))
        except (ValueError, TypeError) as error:
            raise ValueError(f"not a PEM public key: {error}") from None
    if not isinstance(loaded, RSAPublicKey):
        raise ValueError(f"RS256 needs an RSA public key, not {type(loaded).__name__}")
    if loaded.key_size < MIN_RSA_BITS:
        raise ValueError(f"RSA key too short: {loaded.key_size} bits, at least {MIN_RSA_BITS}")
    return loaded


def _private_key(key: bytes | str | RSAPrivateKey) -> RSAPrivateKey:
    if isinstance(key, RSAPrivateKey):
        loaded: object = key
    else:
        try:
            loaded = serialization.load_pem_private_key(_as_bytes(key), password=None)
        except (ValueError, TypeError) as error:
            raise ValueError(f"not an unencrypted PEM private key: {error}") from None
    if not isinstance(loaded, RSAPrivateKey):
        raise ValueError(f"RS256 needs an RSA private key, not {type(loaded).__name__}")
    if loaded.key_size < MIN_RSA_BITS:
        raise ValueError(f"RSA key too short: {loaded.key_size} bits, at least {MIN_RSA_BITS}")
    return loaded


def load_public_key(path: str | Path) -> RSAPublicKey:
    """Read an RSA public key (PEM, SubjectPublicKeyInfo) for `TokenVerifier`."""
    return _public_key(Path(path).read_bytes())


def load_private_key(path: str | Path) -> RSAPrivateKey:
    """Read an unencrypted RSA private key (PEM) for `TokenIssuer`."""
    return _private_key(Path(path).read_bytes())


# -- tokens ------------------------------------------------------------------------------------


class TokenVerifier:
    """Checks bearer tokens and turns them into `Caller`s."""

    def __init__(
        self,
        public_key: bytes | str | RSAPublicKey,
        *,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
        leeway: float = 30.0,
        cache_size: int = 4096,
    ) -> None:
        if leeway < 0:
            raise ValueError("leeway must not be negative")
        self._key = _public_key(public_key)
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        #: tokens already verified → (caller, expiry as a Unix time). A terminal sends the
        #: same token with every request; checking its RSA signature again each time cost
        #: 0.2 ms of a 0.5 ms request. Only accepted tokens are kept, each until its `exp`
        #: (plus the leeway, as `jwt.decode` allows), and the oldest go first when full.
        self._accepted: dict[str, tuple[Caller, float]] = {}
        self.cache_size = cache_size

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        *,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
        leeway: float = 30.0,
    ) -> TokenVerifier:
        return cls(load_public_key(path), issuer=issuer, audience=audience, leeway=leeway)

    def verify(self, token: str) -> Caller:
        """The caller a token describes; AuthError(401) if it is not acceptable."""
        if not token or not token.strip():
            raise _token_missing()
        if len(token) > MAX_TOKEN_CHARS:
            raise _token_invalid("jeton trop long", "الرمز طويل جدًا")
        token = token.strip()
        known = self._accepted.get(token)
        if known is not None:
            caller, expires = known
            if time.time() < expires:
                return caller
            del self._accepted[token]
        claims = self._decode(token)
        caller = self._caller(claims)
        if self.cache_size > 0:
            if len(self._accepted) >= self.cache_size:
                del self._accepted[next(iter(self._accepted))]
            self._accepted[token] = (caller, float(claims["exp"]) + self.leeway)
        return caller

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise _token_invalid("format illisible", "صيغة غير مقروءة") from None
        if header.get("alg") != ALGORITHM:
            raise _token_invalid(
                f"algorithme de signature refusé (seul {ALGORITHM} est accepté)",
                f"خوارزمية التوقيع مرفوضة (تُقبل {ALGORITHM} فقط)",
            )
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise _token_expired() from None
        except jwt.InvalidSignatureError:
            raise _token_invalid("signature incorrecte", "توقيع غير صحيح") from None
        except jwt.InvalidIssuerError:
            raise _token_invalid("émetteur inconnu", "جهة إصدار غير معروفة") from None
        except jwt.InvalidAudienceError:
            raise _token_invalid(
                "jeton destiné à un autre public", "الرمز موجه إلى جهة أخرى"
            ) from None
        except jwt.ImmatureSignatureError:
            raise _token_invalid("jeton pas encore valide", "الرمز غير ساري بعد") from None
        except jwt.MissingRequiredClaimError as error:
            raise _claims_invalid(
                f"champ « {error.claim} » manquant", f"الحقل «{error.claim}» مفقود"
            ) from None
        except jwt.InvalidTokenError:
            raise _token_invalid("jeton mal formé", "رمز مشوه") from None
        return claims

    @staticmethod
    def _caller(claims: Mapping[str, Any]) -> Caller:
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject.strip():
            raise _claims_invalid("sujet (sub) vide", "المعرف (sub) فارغ")

        raw_roles = claims.get("roles")
        if not isinstance(raw_roles, list) or not all(isinstance(r, str) for r in raw_roles):
            raise _claims_invalid(
                "« roles » doit être une liste de rôles", "«roles» يجب أن تكون قائمة أدوار"
            )
        unknown = [r for r in raw_roles if r not in _ROLE_NAMES]
        if unknown:
            shown = unknown[0][:40]
            raise _claims_invalid(f"rôle inconnu « {shown} »", f"دور غير معروف «{shown}»")
        roles = parse_roles(raw_roles)

        raw_establishments = claims.get("establishments")
        if not isinstance(raw_establishments, list) or not all(
            isinstance(e, str) for e in raw_establishments
        ):
            raise _claims_invalid(
                "« establishments » doit être une liste de codes d'établissement",
                "«establishments» يجب أن تكون قائمة رموز مؤسسات",
            )
        establishments = frozenset(raw_establishments)

        patient_key = claims.get("patient_key")
        if patient_key is not None and not isinstance(patient_key, str):
            raise _claims_invalid(
                "« patient_key » doit être une chaîne", "«patient_key» يجب أن يكون نصًا"
            )

        problem = _check_consistency(roles, establishments, patient_key)
        if problem is not None:
            raise _claims_invalid(problem[1], problem[2])

        token_id = claims.get("jti")
        return Caller(
            subject=subject,
            roles=roles,
            establishments=establishments,
            patient_key=patient_key,
            token_id=token_id if isinstance(token_id, str) else None,
        )


class TokenIssuer:
    """Mints tokens (development, tests, and the terminal enrolment tooling)."""

    def __init__(
        self,
        private_key: bytes | str | RSAPrivateKey,
        *,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
    ) -> None:
        self._key = _private_key(private_key)
        self.issuer = issuer
        self.audience = audience

    @classmethod
    def from_file(
        cls, path: str | Path, *, issuer: str = DEFAULT_ISSUER, audience: str = DEFAULT_AUDIENCE
    ) -> TokenIssuer:
        return cls(load_private_key(path), issuer=issuer, audience=audience)

    def mint(
        self,
        subject: str,
        roles: Iterable[Role | str],
        establishments: Iterable[str],
        patient_key: str | None = None,
        ttl: timedelta = timedelta(hours=12),
        *,
        now: datetime | None = None,
    ) -> str:
        """A signed token; ValueError if the claims would not pass `TokenVerifier`.

        `now` (default: the current time) sets ``iat``; tests pass a past instant to
        get an expired token.
        """
        if not subject or not subject.strip():
            raise ValueError("the subject must not be empty")
        if isinstance(roles, str) or isinstance(establishments, str):
            raise ValueError("roles and establishments are collections, not one string")
        role_set = parse_roles(roles)
        establishment_list = sorted(set(establishments))
        problem = _check_consistency(role_set, frozenset(establishment_list), patient_key)
        if problem is not None:
            raise ValueError(problem[0])
        if ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        issued = now or datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": int(issued.timestamp()),
            "exp": int((issued + ttl).timestamp()),
            "jti": uuid.uuid4().hex,
            "roles": sorted(role.value for role in role_set),
            "establishments": establishment_list,
        }
        if patient_key is not None:
            claims["patient_key"] = patient_key
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"typ": "JWT"})


# -- FastAPI -----------------------------------------------------------------------------------

BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "JWT signed with RS256 (`sihha-dev token` on a developer machine). "
    "An operation's security requirement lists the roles it admits: the caller's token "
    "must hold one of them (none listed: any valid token).",
}

CallerDependency = Callable[..., Awaitable[Caller]]


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def document_bearer_auth(app: FastAPI) -> None:
    """Declare the bearer scheme in the app's OpenAPI document and, on every operation
    whose dependencies include an `Authorizer` check, require it with the roles the
    check admits (OpenAPI 3.1 lets an HTTP scheme's requirement list role names: here
    the caller must hold one of them) and declare its problems, 401 and 403. An
    operation that declares its security itself (`bearer_security`) gets the problems
    too. The Authorize button of /docs keeps working."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = (
            BEARER_SCHEME
        )
        for context in iter_route_contexts(app.routes):  # included routers too
            route = context.original_route
            if not isinstance(route, APIRoute):
                continue
            roles = _required_roles(getattr(context, "dependant", route.dependant))
            if roles is None:
                continue
            operations = schema.get("paths", {}).get(context.path_format, {})
            for method in route.methods or ():
                if method.lower() in operations:
                    operations[method.lower()]["security"] = [{"bearer": sorted(roles)}]
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                if any("bearer" in requirement for requirement in operation.get("security", ())):
                    declare_problems(schema, operation, 401, 403)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def bearer_security(dependency: CallerDependency) -> list[dict[str, list[str]]]:
    """The OpenAPI `security` of a route that calls an `Authorizer` dependency itself
    instead of declaring it (`openapi_extra={"security": bearer_security(reception)}`)."""
    roles: frozenset[Role] = getattr(dependency, "required_roles", frozenset())
    return [{"bearer": sorted(roles)}]


def _required_roles(dependant: Dependant) -> frozenset[Role] | None:
    """The roles an operation's `Authorizer` checks admit (empty: any caller), or None
    when it has no such check."""
    found: frozenset[Role] | None = getattr(dependant.call, "required_roles", None)
    for sub in dependant.dependencies:
        more = _required_roles(sub)
        if more is not None:
            found = more if found is None else found | more
    return found


def install_verifier(app: FastAPI, verifier: TokenVerifier) -> None:
    """Make `verifier` the one `Authorizer()` (without a verifier) uses for `app`."""
    setattr(app.state, STATE_ATTRIBUTE, verifier)


class Authorizer:
    """Builds route dependencies that authenticate the caller and check their role."""

    def __init__(self, verifier: TokenVerifier | None = None) -> None:
        self._verifier = verifier

    def verifier_for(self, request: Request) -> TokenVerifier:
        if self._verifier is not None:
            return self._verifier
        verifier = getattr(request.app.state, STATE_ATTRIBUTE, None)
        if not isinstance(verifier, TokenVerifier):
            raise RuntimeError(
                "no TokenVerifier: pass one to Authorizer(...) or call "
                "install_verifier(app, verifier) at start-up"
            )
        return verifier

    def authenticate(self, request: Request, token: str | None) -> Caller:
        if not token:
            raise _token_missing()
        caller = self.verifier_for(request).verify(token)
        request.state.caller = caller
        return caller

    def __call__(self, *roles: Role) -> CallerDependency:
        """A dependency returning the caller, who must hold one of `roles` (if any given)."""
        wanted = frozenset(Role(role) for role in roles)
        names = ", ".join(sorted(role.value for role in wanted))

        # the token is read from the header here, not through an `HTTPBearer` sub-dependency:
        # that one cost ~20 µs a request (FastAPI's resolution and a pydantic model); the
        # OpenAPI document still declares the scheme (`document_bearer_auth`)
        async def caller_dependency(request: Request) -> Caller:
            caller = self.authenticate(request, bearer_token(request))
            if wanted and caller.roles.isdisjoint(wanted):
                raise AuthError(
                    403,
                    "role-forbidden",
                    f"Votre rôle ne permet pas cette action (rôles admis : {names}).",
                    f"دورك لا يسمح بهذا الإجراء (الأدوار المسموح بها: {names}).",
                    title="Forbidden",
                    required_roles=sorted(role.value for role in wanted),
                )
            return caller

        caller_dependency.__name__ = f"require_{'_or_'.join(sorted(wanted)) or 'caller'}"
        caller_dependency.required_roles = wanted  # type: ignore[attr-defined]
        return caller_dependency
