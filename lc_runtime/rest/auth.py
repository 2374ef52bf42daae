"""Which authentication classes the REST API accepts (ADR 0011).

Standalone: DRF token (``Authorization: Token <key>``, for tools) and Django sessions (browsers; CSRF
enforced). Inside edx-platform, when edx-drf-extensions is importable and the platform configured
``JWT_AUTH``: its ``JwtAuthentication`` first (``Authorization: JWT <token>``, as the platform's own
APIs), then its bearer-token and session classes. A setting overrides all of it:
``LC_RUNTIME_REST_AUTHENTICATION_CLASSES`` (dotted paths).
"""
from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

STANDALONE = ("rest_framework.authentication.TokenAuthentication",
              "rest_framework.authentication.SessionAuthentication")
PLATFORM = ("edx_rest_framework_extensions.auth.jwt.authentication.JwtAuthentication",
            "edx_rest_framework_extensions.auth.bearer.authentication.BearerAuthenticationAllowInactiveUser",
            "edx_rest_framework_extensions.auth.session.authentication.SessionAuthenticationAllowInactiveUser")


def class_paths() -> tuple[str, ...]:
    configured = getattr(settings, "LC_RUNTIME_REST_AUTHENTICATION_CLASSES", None)
    if configured:
        return tuple(configured)
    if getattr(settings, "JWT_AUTH", None):
        try:
            for path in PLATFORM:
                import_string(path)
            return PLATFORM
        except ImportError:
            pass
    return STANDALONE


def authentication_classes() -> list:
    return [import_string(path) for path in class_paths()]
