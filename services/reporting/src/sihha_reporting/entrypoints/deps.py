"""What the routes share: the context, the callers they admit, language and formats."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from sihha_kit.auth import Authorizer, Caller, Role, ensure_establishment
from sihha_kit.errors import Forbidden
from sihha_reporting.context import ReportingContext
from sihha_reporting.domain.problems import UnknownEstablishment, UnknownFormat

require = Authorizer()

FACILITY_PATTERN = r"^[0-9]{2}-[A-Z]{2,5}-[0-9]{2,4}$"


def context(request: Request) -> ReportingContext:
    ctx: ReportingContext = request.app.state.context
    return ctx


ContextDep = Annotated[ReportingContext, Depends(context)]
#: reads of the wilaya's reports and views
WilayaDep = Annotated[Caller, Depends(require(Role.wilaya_group, Role.it_unit, Role.admin))]
#: what the wilaya group records (inspections)
GroupDep = Annotated[Caller, Depends(require(Role.wilaya_group, Role.admin))]
#: the ministry's aggregated report (the ministry sees nothing else)
MinistryDep = Annotated[Caller, Depends(require(Role.ministry, Role.wilaya_group, Role.admin))]
#: the IT units' monitor
MonitorDep = Annotated[Caller, Depends(require(Role.it_unit, Role.admin))]

FacilityQuery = Annotated[str | None, Query(pattern=FACILITY_PATTERN, examples=["31-PC-001"])]
LangQuery = Annotated[str | None, Query(pattern="^(fr|ar)$", description="fr or ar")]


def language(request: Request, lang: str | None) -> str:
    if lang:
        return lang
    return "ar" if request.headers.get("accept-language", "").lower().startswith("ar") else "fr"


def ensure_wilaya_wide(caller: Caller) -> None:
    if not caller.wilaya_wide:
        raise Forbidden(
            "wilaya-scope-required",
            "Ce rapport couvre toute la wilaya : il faut un accès à tous ses établissements (« * »).",
            "هذا التقرير يشمل الولاية كلها: يلزم الوصول إلى جميع مؤسساتها («*»).",
        )


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
