"""What the routes share: the context, the callers they admit, language and formats."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from sihha_kit.auth import Authorizer, Caller, Role, ensure_establishment, ensure_wilaya_wide
from sihha_kit.i18n import negotiate
from sihha_reporting.context import ReportingContext
from sihha_reporting.domain.problems import UnknownEstablishment, UnknownFormat

require = Authorizer()

FACILITY_PATTERN = r"^[0-9]{2}-[A-Z]{2,5}-[0-9]{2,4}$"


def context(request: Request) -> ReportingContext:
    ctx: ReportingContext = request.app.state.context
    return ctx


ContextDep = Annotated[ReportingContext, Depends(context)]
#: reads of the wilaya's reports and views, for the whole wilaya or (with `facility_id`)
#: one establishment: the route checks which (`check_scope`)
WilayaDep = Annotated[Caller, Depends(require(Role.wilaya_group, Role.it_unit, Role.admin))]
#: the same readers, on what always covers the whole wilaya (revisions, deliveries,
#: reconciliation): a caller scoped to some establishments gets 403
WilayaWideDep = Annotated[
    Caller, Depends(require(Role.wilaya_group, Role.it_unit, Role.admin, wilaya_wide=True))
]
#: what the wilaya group records (inspections)
GroupDep = Annotated[Caller, Depends(require(Role.wilaya_group, Role.admin))]
#: the ministry's aggregated report (the ministry sees nothing else), wilaya-wide
MinistryDep = Annotated[
    Caller, Depends(require(Role.ministry, Role.wilaya_group, Role.admin, wilaya_wide=True))
]
#: the IT units' monitor: queue depths, dead letters and live events of the whole wilaya
MonitorDep = Annotated[Caller, Depends(require(Role.it_unit, Role.admin, wilaya_wide=True))]
#: the monitor's live stream: the same callers, the token also from the stream cookie
#: (`sihha_kit.auth.streams`: an EventSource sends no header)
MonitorStreamDep = Annotated[
    Caller, Depends(require(Role.it_unit, Role.admin, wilaya_wide=True, stream=True))
]

FacilityQuery = Annotated[str | None, Query(pattern=FACILITY_PATTERN, examples=["31-PC-001"])]
LangQuery = Annotated[str | None, Query(pattern="^(fr|ar)$", description="fr or ar")]


def language(request: Request, lang: str | None) -> str:
    """The language of a rendered report: `lang` if given, else the caller's
    ``Accept-Language`` as the kit weighs it (French when it names neither)."""
    if lang:
        return lang
    return negotiate(request.headers.get("accept-language"))


def check_scope(ctx: ReportingContext, caller: Caller, facility_id: str | None) -> None:
    """A wilaya-wide request needs a wilaya-wide caller; an establishment must exist."""
    if facility_id is None:
        ensure_wilaya_wide(caller)
        return
    ensure_establishment(caller, facility_id)
    if ctx.registry.by_code(facility_id) is None:
        raise UnknownEstablishment(facility_id)


MEDIA = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def check_format(wanted: str, allowed: list[str]) -> str:
    if wanted not in allowed:
        raise UnknownFormat(wanted, allowed)
    return wanted


async def render(
    ctx: ReportingContext, document: dict[str, Any], fmt: str, lang: str, name: str
) -> Response:
    from sihha_reporting.rendering.pdf import to_pdf
    from sihha_reporting.rendering.tabular import to_csv, to_xlsx

    if fmt == "json":
        return JSONResponse(document)
    headers = {"content-disposition": f'attachment; filename="{name}-{lang}.{fmt}"'}
    if fmt == "csv":
        body = await asyncio.to_thread(to_csv, document, lang)
    elif fmt == "xlsx":
        body = await asyncio.to_thread(to_xlsx, document, lang)
    else:
        settings = ctx.settings
        body = await asyncio.to_thread(
            to_pdf, document, lang, font=settings.pdf_font_path, bold=settings.pdf_bold_font_path
        )
    return Response(body, media_type=MEDIA[fmt], headers=headers)
