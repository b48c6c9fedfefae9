"""Issuing a report: compute its content, and publish a revision when a closed period changed.

- A report of a *closed* period (its last day is over) of a standard kind
  (wilaya daily/weekly/monthly, ministry monthly) is *published* by the
  scheduler, the `report` command or an explicit `POST …/publish` (never by
  a read: `publish=True` only there): the first time as revision 1, then a new
  revision each time its content differs from the latest one (late data),
  never otherwise. Reading it (`publish=False`) returns the latest published
  revision as it was published (`pending_revision` says whether newer data
  would change it), or, before its first publication, the figures computed
  now, *on_demand*: a read changes nothing. The revision, the
  `reporting.report.published` event (kit outbox) and, for the ministry
  report, the delivery to the configured endpoint are written in one
  transaction. A DHIS2 delivery of a revision n > 1 is preceded by the deletion
  (`importStrategy=DELETE`) of the values earlier revisions sent and this one
  no longer sends (`domain.dhis2.removed_values`).
- A period still running gives a *provisional* report, not stored.
- Any other period (on demand), or a report restricted to one establishment,
  is computed and not stored (status *on_demand*).
Every report says its revision (or status) and "data as of" (the last batch
of events the archive committed).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sihha_kit.clock import Clock, local_day, to_local
from sihha_kit.i18n import LANGUAGES, N_, format_date
from sihha_kit.logs import get_logger
from sihha_kit.registry import Registry
from sihha_reporting.domain.dhis2 import (
    DELETE_STRATEGY,
    Mapping,
    removed_values,
    to_data_value_set,
)
from sihha_reporting.domain.periods import Period
from sihha_reporting.domain.problems import Dhis2MappingMissing
from sihha_reporting.domain.revision import STANDARD_KINDS, ReportRevision, content_hash
from sihha_reporting.domain.texts import text
from sihha_reporting.service_layer.reports import (
    RolloutRules,
    ministry_report,
    status_day,
    wilaya_kind,
    wilaya_report,
)
from sihha_reporting.service_layer.unit_of_work import ReportingUnitOfWork

log = get_logger(__name__)

Builder = Callable[[AsyncSession, datetime], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class DeliveryTarget:
    destination: str
    url: str
    format: str  # "json" or "dhis2"


@dataclass
class IssuedReport:
    kind: str
    period: Period
    content: dict[str, Any]
    content_hash: str
    status: str  # published | provisional | on_demand
    generated_at: datetime
    data_as_of: datetime | None
    revision: int | None = None
    report_id: UUID | None = None
    revision_id: UUID | None = None
    published_at: datetime | None = None
    #: a published report whose data changed since: publishing again makes a new revision
    pending_revision: bool = False

    def header(self) -> dict[str, Any]:
        return {
            **self._status_note(),
            "report_id": str(self.report_id) if self.report_id else None,
            "kind": self.kind,
            "status": self.status,
            "revision": self.revision,
            "published_at": _iso(self.published_at),
            "generated_at": _iso(self.generated_at),
            "data_as_of": _iso(self.data_as_of),
            "content_hash": self.content_hash,
            "pending_revision": self.pending_revision,
        }

    def _status_note(self) -> dict[str, Any]:
        """A provisional report says so, and why its figures will still change, in both
        languages (`status_note`: ``{"fr": …, "ar": …}``)."""
        if self.status != "provisional":
            return {}
        as_of = status_day(self.period, self.generated_at)
        return {
            "status_note": {
                lang: text(
                    lang,
                    N_("report.provisional_note"),
                    as_of=format_date(as_of, lang),
                    closes_on=format_date(self.period.end, lang),
                )
                for lang in LANGUAGES
            }
        }

    def document(self) -> dict[str, Any]:
        return {"report": self.header(), **self.content}


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else to_local(instant).isoformat(timespec="seconds")


class ReportService:
    def __init__(
        self,
        *,
        registry: Registry,
        rules: RolloutRules,
        uow: Callable[[], ReportingUnitOfWork],
        clock: Clock,
        delivery: DeliveryTarget | None = None,
        dhis2_mapping_path: Path | None = None,
    ) -> None:
        self.registry = registry
        self.rules = rules
        self.uow = uow
        self.clock = clock
        self.delivery = delivery
        self.dhis2_mapping_path = dhis2_mapping_path

    async def wilaya(
        self,
        period: Period,
        *,
        facility_id: str | None = None,
        trigger: str = "on_demand",
        publish: bool = False,
    ) -> IssuedReport:
        """The wilaya's report; with `publish`, a new revision if a closed period changed."""

        async def build(session: AsyncSession, now: datetime) -> dict[str, Any]:
            return await wilaya_report(
                session, self.registry, period, now=now, rules_=self.rules, facility_id=facility_id
            )

        return await self._issue(
            wilaya_kind(period),
            period,
            build,
            trigger,
            publishable=facility_id is None,
            publish=publish,
        )

    async def ministry(
        self, period: Period, *, trigger: str = "on_demand", publish: bool = False
    ) -> IssuedReport:
        """The ministry's report; with `publish`, a new revision (and its delivery) if the
        closed month changed."""

        async def build(session: AsyncSession, now: datetime) -> dict[str, Any]:
            return await ministry_report(session, self.registry, period, now=now, rules_=self.rules)

        return await self._issue(
            "ministry_monthly", period, build, trigger, publishable=True, publish=publish
        )

    def dhis2_mapping(self) -> Mapping:
        if self.dhis2_mapping_path is None:
            raise Dhis2MappingMissing()
        return Mapping.load(self.dhis2_mapping_path)

    def dhis2(self, issued: IssuedReport) -> dict[str, Any]:
        # a provisional month is not a complete data set: DHIS2 gets its values, not a
        # completeness registration (`completeDate`), until the month is closed
        return to_data_value_set(
            issued.content,
            self.dhis2_mapping(),
            complete_date=None
            if issued.status == "provisional"
            else local_day(issued.generated_at).isoformat(),
        )

    async def _issue(
        self,
        kind: str,
        period: Period,
        build: Builder,
        trigger: str,
        *,
        publishable: bool,
        publish: bool,
    ) -> IssuedReport:
        for attempt in range(3):
            try:
                return await self._issue_once(
                    kind, period, build, trigger, publishable=publishable, publish=publish
                )
            except IntegrityError:
                # another replica published the same revision number first: read it again
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _issue_once(
        self,
        kind: str,
        period: Period,
        build: Builder,
        trigger: str,
        *,
        publishable: bool,
        publish: bool,
    ) -> IssuedReport:
        now = self.clock()
        async with self.uow() as uow:
            content = await build(uow.session, now)
            digest = content_hash(content)
            data_as_of = await uow.archive.data_as_of()
            issued = IssuedReport(kind, period, content, digest, "on_demand", now, data_as_of)
            if not (publishable and kind in STANDARD_KINDS):
                return issued
            if not period.closed(local_day(now)):
                issued.status = "provisional"
                return issued
            latest = await uow.revisions.latest(kind, period.start, period.end)
            if latest is not None and (latest["content_hash"] == digest or not publish):
                # a read shows what was published, and says whether newer data wait
                issued = IssuedReport(
                    kind,
                    period,
                    dict(latest["content"]),
                    latest["content_hash"],
                    "published",
                    now,
                    latest["data_as_of"],
                    revision=latest["revision"],
                    report_id=latest["report_id"],
                    revision_id=latest["revision_id"],
                    published_at=latest["published_at"],
                    pending_revision=latest["content_hash"] != digest,
                )
                return issued
            if not publish:
                return issued  # never published yet: the figures of now, on demand
            issued.status = "published"
            revision = ReportRevision(
                revision_id=uuid4(),
                report_id=latest["report_id"] if latest else uuid4(),
                report_kind=kind,
                period_start=period.start,
                period_end=period.end,
                revision=(latest["revision"] + 1) if latest else 1,
                content_hash=digest,
            )
            issued.revision, issued.report_id = revision.revision, revision.report_id
            issued.revision_id, issued.published_at = revision.revision_id, now
            target = self.delivery if kind == "ministry_monthly" else None
            payload = self._delivery_payload(issued, target) if target else None  # refuses first
            await uow.revisions.add(
                revision,
                {
                    "revision_id": revision.revision_id,
                    "report_id": revision.report_id,
                    "report_kind": kind,
                    "period_start": period.start,
                    "period_end": period.end,
                    "revision": revision.revision,
                    "content_hash": digest,
                    "content": content,
                    "data_as_of": data_as_of,
                    "published_at": now,
                    "trigger": trigger,
                },
            )
            if target is not None and payload is not None:
                if target.format == "dhis2" and latest is not None:
                    # DHIS2 keeps what an earlier revision sent unless told to delete it
                    sent = await uow.deliveries.sent_bodies(revision.report_id, target.destination)
                    deletion = removed_values([json.loads(b) for b in sent], payload)
                    if deletion is not None:
                        await uow.deliveries.add(
                            {
                                "delivery_id": uuid4(),
                                "revision_id": revision.revision_id,
                                "destination": target.destination,
                                "url": str(
                                    httpx.URL(target.url).copy_merge_params(DELETE_STRATEGY)
                                ),
                                "content_type": "application/json",
                                "body": _json(deletion),
                                "purpose": "delete",
                            }
                        )
                await uow.deliveries.add(
                    {
                        "delivery_id": uuid4(),
                        "revision_id": revision.revision_id,
                        "destination": target.destination,
                        "url": target.url,
                        "content_type": "application/json",
                        "body": _json(payload),
                        "purpose": "values",
                    }
                )
            revision.publish(
                facility_id=self.registry.wilaya_code,
                at=now,
                delivered_to=target.destination if target else None,
            )
            await uow.commit()
            log.info(
                "report.published",
                kind=kind,
                period=period.key,
                revision=revision.revision,
                trigger=trigger,
            )
            return issued

    def _delivery_payload(self, issued: IssuedReport, target: DeliveryTarget) -> dict[str, Any]:
        return self.dhis2(issued) if target.format == "dhis2" else issued.document()


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, default=str).encode()
