"""Django app of the Split side (tables of the embedded document backend)."""
from django.apps import AppConfig


class ModulestoreCompatConfig(AppConfig):
    name = "modulestore_compat"
    label = "modulestore_compat"
    verbose_name = "lc-runtime Split compatibility"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .signals import connect

        connect()
