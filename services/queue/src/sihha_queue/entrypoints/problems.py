"""The error answers each route declares in the OpenAPI document: RFC 9457
`application/problem+json` bodies (`sihha_kit.problems` renders them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Problem(BaseModel):
    """An RFC 9457 problem, with the texts in both working languages."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    detail_fr: str
    detail_ar: str
    code: str
    instance: str


_DESCRIPTIONS = {
    401: "No valid bearer token",
    403: "The caller's role or establishment does not allow this",
    404: "Unknown establishment, service, ticket, counter or visit",
    409: "The request contradicts the current state",
    413: "Request body too large",
    422: "Invalid input, or refused by a rule",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that may answer these error statuses."""
    schema = Problem.model_json_schema()
    return {
        status: {
            "description": _DESCRIPTIONS.get(status, "Error"),
            "content": {"application/problem+json": {"schema": schema}},
        }
        for status in statuses
    }
