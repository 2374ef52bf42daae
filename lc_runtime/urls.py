"""Standalone URLs: the authoring REST API under ``/api/lc-runtime/`` and Django admin (roles)."""
from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("api/lc-runtime/", include("lc_runtime.rest.urls")),
    path("admin/", admin.site.urls),
]
