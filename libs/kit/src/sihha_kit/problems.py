"""RFC 9457 problem details for every error a service returns.

Every error body is `application/problem+json` with `type`, `title`, `status`,
`detail` and `instance`, plus `code` (stable, machine-readable), `detail_fr`
and `detail_ar` (the same message in both working languages; `detail` is the
one the caller asked for with `Accept-Language`, French by default).
Never a stack trace: unexpected errors are logged with their trace id and the
caller gets a 500 problem that names that trace id.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sihha_kit.errors import DomainProblem
from sihha_kit.logs import get_logger
from sihha_kit.tracing import current_trace_id

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://sihha.sante.dz/problems/"

#: generic messages for HTTP statuses raised by the framework itself
_HTTP_MESSAGES: dict[int, tuple[str, str, str]] = {
    400: ("bad-request", "Requête invalide.", "طلب غير صالح."),
    401: ("unauthenticated", "Authentification requise.", "المصادقة مطلوبة."),
    403: ("forbidden", "Accès refusé.", "الوصول مرفوض."),
    404: ("not-found", "Ressource introuvable.", "المورد غير موجود."),
    405: ("method-not-allowed", "Méthode non autorisée.", "الطريقة غير مسموح بها."),
    409: ("conflict", "Conflit avec l'état actuel.", "تعارض مع الحالة الحالية."),
    413: (
        "body-too-large",
        "Le corps de la requête est trop volumineux.",
        "حجم محتوى الطلب كبير جدًا.",
    ),
    415: (
        "unsupported-media-type",
        "Type de contenu non pris en charge.",
        "نوع المحتوى غير مدعوم.",
    ),
    422: ("invalid-input", "Données invalides.", "بيانات غير صالحة."),
    429: ("too-many-requests", "Trop de requêtes.", "طلبات كثيرة جدًا."),
    503: ("unavailable", "Service momentanément indisponible.", "الخدمة غير متاحة مؤقتًا."),
}


def wants_arabic(request: Request) -> bool:
    language = request.headers.get("accept-language", "")
    return language.strip().lower().startswith("ar")


def problem_response(
    request: Request,
    status: int,
    code: str,
    detail_fr: str,
    detail_ar: str,
    *,
    title: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title or code.replace("-", " ").capitalize(),
        "status": status,
        "detail": detail_ar if wants_arabic(request) else detail_fr,
        "detail_fr": detail_fr,
        "detail_ar": detail_ar,
        "code": code,
        "instance": request.url.path,
    }
    if extra:
        body.update({key: value for key, value in extra.items() if key not in body})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def generic_problem(request: Request, status: int, **extra: Any) -> JSONResponse:
    code, fr, ar = _HTTP_MESSAGES.get(status, ("error", "Erreur.", "خطأ."))
    return problem_response(request, status, code, fr, ar, extra=extra or None)


async def _domain_problem(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainProblem)
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return problem_response(
        request,
        error.status,
        error.code,
        error.detail_fr,
        error.detail_ar,
        title=error.title,
        extra=error.extra,
        headers=headers,
    )


async def _validation_problem(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        {
            "location": [str(part) for part in item.get("loc", ())],
            "message": item.get("msg", ""),
            "type": item.get("type", ""),
        }
        for item in error.errors()
    ]
    fields = ", ".join(".".join(e["location"][1:]) or e["location"][0] for e in errors[:5])
    return problem_response(
        request,
        422,
        "invalid-input",
        f"Données invalides : {fields}.",
        f"بيانات غير صالحة: {fields}.",
        extra={"errors": errors},
    )


async def _http_problem(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    return generic_problem(request, error.status_code)


async def _unexpected_problem(request: Request, error: Exception) -> JSONResponse:
    trace_id = current_trace_id()
    log.exception("http.unexpected_error", path=request.url.path, error_type=type(error).__name__)
    return problem_response(
        request,
        500,
        "internal-error",
        "Erreur interne. L'incident est journalisé"
        + (f" (trace {trace_id})." if trace_id else "."),
        "خطأ داخلي. تم تسجيل الحادث" + (f" (trace {trace_id})." if trace_id else "."),
        extra={"trace_id": trace_id} if trace_id else None,
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainProblem, _domain_problem)
    app.add_exception_handler(RequestValidationError, _validation_problem)
    app.add_exception_handler(StarletteHTTPException, _http_problem)
    app.add_exception_handler(Exception, _unexpected_problem)
