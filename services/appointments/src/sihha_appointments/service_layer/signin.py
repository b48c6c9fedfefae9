"""Citizen sign-in: the NIN, then a one-time code sent by SMS to the citizen's phone.

The first sign-in gives a phone number: the code goes there, and once it is typed back
the number is bound to the citizen's pseudonymous key (encrypted). Later sign-ins need
only the NIN: the code goes to the bound number, whatever number is typed, so knowing
someone's NIN is not enough. A clinic resets the binding for a citizen who changed
number (after checking the identity card). Codes last `sign_in_code_minutes`, allow
`sign_in_max_attempts` tries, and are kept only as keyed digests.

This trusts the first phone given for a NIN: a national identity provider (OIDC) can
take sign-in over later, issuing the same citizen token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sihha_appointments.adapters.citizen_tokens import CitizenTokens
from sihha_appointments.adapters.phones import (
    PhoneVault,
    mask_phone,
    new_sign_in_code,
    normalise_phone,
)
from sihha_appointments.domain.notification import Notification, Template
from sihha_appointments.service_layer.handlers import Deps, patient_key_of
from sihha_appointments.service_layer.unit_of_work import AppointmentsUnitOfWork
from sihha_kit.errors import BadRequest, Conflict, NotFound, TooManyRequests


@dataclass(frozen=True)
class SignInSettings:
    code_lifetime: timedelta
    max_attempts: int


@dataclass(frozen=True)
class Challenge:
    challenge_id: UUID
    expires_at: datetime
    phone_hint: str
    patient_key: str


async def start_sign_in(
    nin: str,
    phone: str | None,
    language: str,
    uow: AppointmentsUnitOfWork,
    *,
    deps: Deps,
    vault: PhoneVault,
    settings: SignInSettings,
) -> Challenge:
    patient_key = patient_key_of(nin, deps)
    async with uow:
        now = deps.clock()
        citizen = await uow.citizens.get(patient_key)
        if citizen is not None:
            number = vault.decrypt(citizen["phone_ciphertext"])
        elif phone is None:
            raise BadRequest("phone-required")
        else:
            try:
                number = normalise_phone(phone)
            except ValueError:
                raise BadRequest("invalid-phone") from None
        challenge_id = uuid4()
        code = new_sign_in_code()
        ciphertext = vault.encrypt(number)
        expires_at = now + settings.code_lifetime
        await uow.challenges.add(
            {
                "challenge_id": challenge_id,
                "patient_key": patient_key,
                "phone_ciphertext": ciphertext,
                "code_digest": vault.code_digest(str(challenge_id), code),
                "language": language,
                "expires_at": expires_at,
                "created_at": now,
            }
        )
        await uow.notifications.add(
            Notification.request(
                patient_key=patient_key,
                template=Template.SIGN_IN_CODE,
                language=language,
                params={"code": code, "minutes": int(settings.code_lifetime.total_seconds() // 60)},
                at=now,
                facility_id="-",
                publish=False,
            ),
            now,
            phone_ciphertext=ciphertext,
        )
        await uow.commit()
        return Challenge(challenge_id, expires_at, mask_phone(number), patient_key)


class CodeWrong(BadRequest):
    def __init__(self, attempts_left: int) -> None:
        super().__init__("sign-in-code-wrong", attempts_left=attempts_left)


async def verify_sign_in(
    challenge_id: UUID,
    code: str,
    uow: AppointmentsUnitOfWork,
    *,
    deps: Deps,
    vault: PhoneVault,
    tokens: CitizenTokens,
    settings: SignInSettings,
) -> dict[str, Any]:
    """The citizen's token for the right code; the phone is then bound to them."""
    async with uow:
        now = deps.clock()
        challenge = await uow.challenges.get(challenge_id)
        if challenge is None:
            raise NotFound("sign-in-challenge-not-found")
        if challenge["verified_at"] is not None:
            raise Conflict("sign-in-challenge-used")
        if now >= challenge["expires_at"]:
            raise Conflict("sign-in-code-expired")
        if challenge["attempts"] >= settings.max_attempts:
            raise TooManyRequests("sign-in-attempts-exhausted")
        await uow.challenges.count_attempt(challenge_id)
        if not vault.same_code(str(challenge_id), code.strip(), challenge["code_digest"]):
            await uow.commit()  # the attempt counts
            raise CodeWrong(settings.max_attempts - challenge["attempts"] - 1)
        await uow.challenges.verified(challenge_id, now)
        number = vault.decrypt(challenge["phone_ciphertext"])
        await uow.citizens.bind_phone(
            challenge["patient_key"],
            vault.encrypt(number),
            vault.index(number),
            challenge["language"],
            now,
        )
        await uow.commit()
    token = tokens.mint(challenge["patient_key"])
    return {
        "token": token,
        "token_type": "Bearer",
        "expires_in": int(tokens.ttl.total_seconds()),
        "patient_key": challenge["patient_key"],
    }
