"""Settings lc-runtime adds when installed into edx-platform as a plugin."""
from __future__ import annotations


def plugin_settings(settings) -> None:
    """Learning Core needs a private media store; keep the platform's if it configured one."""
    if not getattr(settings, "OPENEDX_LEARNING", None):
        settings.OPENEDX_LEARNING = {
            "MEDIA": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": "/openedx/data/lc_runtime_media"},
            }
        }
