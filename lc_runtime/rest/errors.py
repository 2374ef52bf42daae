"""Every error of the REST API as JSON ``{code, message, course, block, ...}`` with the right status.

The message is the exception's one line (it names the course and block); a version conflict adds
both versions (``based_on``: the one the write was based on, ``current``: the block's draft now).
"""
from __future__ import annotations

from django.http import Http404
from opaque_keys import InvalidKeyError
from rest_framework import exceptions, status
from rest_framework.response import Response

from .. import errors

#: exception type → (HTTP status, code); the first matching entry wins (subclasses first).
ERRORS = (
    (errors.VersionConflictError, status.HTTP_412_PRECONDITION_FAILED, "version_conflict"),
    (errors.PermissionDeniedError, status.HTTP_403_FORBIDDEN, "forbidden"),
    (errors.BlockNotFoundError, status.HTTP_404_NOT_FOUND, "block_not_found"),
    (errors.CourseNotFoundError, status.HTTP_404_NOT_FOUND, "course_not_found"),
    (errors.DuplicateBlockError, status.HTTP_409_CONFLICT, "duplicate_block"),
    (errors.CourseExistsError, status.HTTP_409_CONFLICT, "course_exists"),
    (errors.StageWriteRefusedError, status.HTTP_409_CONFLICT, "stage_refused"),
    (errors.NotPublishedError, status.HTTP_409_CONFLICT, "not_published"),
    (errors.DirectOnlyError, status.HTTP_409_CONFLICT, "direct_only"),
    (errors.InvalidMoveError, status.HTTP_400_BAD_REQUEST, "invalid_move"),
    (errors.RootBlockError, status.HTTP_400_BAD_REQUEST, "root_block"),
    (errors.InvalidFieldError, status.HTTP_400_BAD_REQUEST, "invalid_field"),
    (errors.InvalidFieldValueError, status.HTTP_400_BAD_REQUEST, "invalid_value"),
    (errors.InvalidRoleError, status.HTTP_400_BAD_REQUEST, "invalid_role"),
    (errors.DatabaseBusyError, status.HTTP_503_SERVICE_UNAVAILABLE, "busy"),
    (errors.LcRuntimeError, status.HTTP_400_BAD_REQUEST, "invalid_request"),
)


class ApiError(exceptions.APIException):
    """An error raised by the REST layer itself (bad request shape, missing version, too large)."""

    def __init__(self, status_code: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status_code, self.code, self.extra = status_code, code, extra


def body(code: str, message: str, *, course=None, block=None, **extra) -> dict:
    return {"code": code, "message": message, "course": str(course) if course else None,
            "block": str(block) if block else None, **extra}


def _where(exc, view_kwargs) -> tuple:
    block = getattr(exc, "usage_key", None) or view_kwargs.get("usage_key")
    course = getattr(exc, "course_key", None) or getattr(block, "course_key", None) or view_kwargs.get("course_key")
    if course is None and isinstance(block, str):
        course = block.split("+type@")[0].replace("block-v1:", "course-v1:") if "+type@" in block else None
    return course, block


def handle(exc, context):
    """DRF's ``EXCEPTION_HANDLER`` for our views."""
    kwargs = getattr(context.get("view"), "kwargs", None) or {}
    if isinstance(exc, errors.LcRuntimeError):
        for exc_type, status_code, code in ERRORS:
            if isinstance(exc, exc_type):
                break
        course, block = _where(exc, kwargs)
        extra = {}
        if isinstance(exc, errors.VersionConflictError):
            extra = {"based_on": str(exc.based_on) if exc.based_on is not None else None,
                     "current": str(exc.current) if exc.current is not None else None}
        if isinstance(exc, errors.PermissionDeniedError):
            extra = {"needed": exc.needed, "held": exc.held}
        return Response(body(code, str(exc), course=course, block=block, **extra), status=status_code)
    if isinstance(exc, InvalidKeyError):
        course, block = _where(exc, kwargs)
        return Response(body("invalid_key", f"{exc} is not a valid course or usage key", course=course, block=block),
                        status=status.HTTP_400_BAD_REQUEST)
    course, block = _where(exc, kwargs)
    if isinstance(exc, ApiError):
        return Response(body(exc.code, str(exc.detail), course=course, block=block, **exc.extra),
                        status=exc.status_code)
    if isinstance(exc, Http404):
        return Response(body("not_found", "no such endpoint or object", course=course, block=block), status=404)
    if isinstance(exc, exceptions.ValidationError):
        return Response(body("invalid_request", _flatten(exc.detail), course=course, block=block,
                             errors=exc.detail), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.APIException):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        response = Response(body(code, str(exc.detail), course=course, block=block), status=exc.status_code)
        if getattr(exc, "auth_header", None):
            response["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            response["Retry-After"] = str(int(exc.wait))
        return response
    return None  # a bug: Django's 500


def _flatten(detail, prefix="") -> str:
    if isinstance(detail, dict):
        return "; ".join(_flatten(v, f"{prefix}{k}: ") for k, v in detail.items())
    if isinstance(detail, list):
        return "; ".join(_flatten(v, prefix) for v in detail)
    return f"{prefix}{detail}"
