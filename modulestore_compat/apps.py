"""Django app of the Split side (tables of the embedded document backend)."""
from django.apps import AppConfig


class ModulestoreCompatConfig(AppConfig):
    name = "modulestore_compat"
    label = "modulestore_compat"
    verbose_name = "lc-runtime Split compatibility"
    default_auto_field = "django.db.models.BigAutoField"

    # edx-platform plugin: compiled documents' tables, the rebuild signals, and (when enabled) the
    # facade in front of Split in MODULESTORE.
    plugin_app = {
        "settings_config": {
            project: {phase: {"relative_path": "plugin_settings"} for phase in ("common", "production")}
            for project in ("lms.djangoapp", "cms.djangoapp")
        },
    }

    def ready(self) -> None:
        from lc_runtime.stages import register_split_probe

        from modulestore_compat.signals import connect

        connect()
        register_split_probe(embedded_split_holds)


def embedded_split_holds(course_key: str) -> bool:
    """Whether the embedded Split tables hold the course (Learning Core then refuses edits at stage split)."""
    from modulestore_compat.models import SplitCourseIndex

    return SplitCourseIndex.objects.filter(course_id=course_key).exists()
