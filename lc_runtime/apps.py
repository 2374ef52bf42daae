"""Django app config; also the edx-platform plugin declaration (``lms.djangoapp`` / ``cms.djangoapp``)."""
from __future__ import annotations

from django.apps import AppConfig


class LcRuntimeConfig(AppConfig):
    """lc-runtime's Django app."""

    name = "lc_runtime"
    label = "lc_runtime"
    verbose_name = "Learning Core course runtime"
    default_auto_field = "django.db.models.BigAutoField"

    # edx-django-utils plugin conventions: picked up by edx-platform's plugin loader.
    plugin_app = {
        # The authoring REST API (#12) at /api/lc-runtime/v1/… in the CMS (Studio's host).
        "url_config": {
            "cms.djangoapp": {"namespace": "lc_runtime_rest", "regex": r"^api/lc-runtime/",
                              "relative_path": "rest.urls"},
        },
        "settings_config": {
            "lms.djangoapp": {"common": {"relative_path": "plugin_settings"}},
            "cms.djangoapp": {"common": {"relative_path": "plugin_settings"}},
        },
    }

    def ready(self) -> None:
        from openedx_content.api import register_publishable_models

        from .models import XBlockContainer, XBlockContainerVersion

        register_publishable_models(XBlockContainer, XBlockContainerVersion)
