"""Create the container type rows up front.

Learning Core caches a ContainerType row on the class the first time it is used; creating the
rows in a migration keeps that cache valid even when a later transaction rolls back.
"""
from django.db import migrations

TYPE_CODES = ("unit", "subsection", "section", "lc_runtime_xblock")


def create_types(apps, schema_editor):
    ContainerType = apps.get_model("openedx_content", "ContainerType")
    for code in TYPE_CODES:
        ContainerType.objects.get_or_create(type_code=code)


class Migration(migrations.Migration):
    dependencies = [("lc_runtime", "0001_initial")]
    operations = [migrations.RunPython(create_types, migrations.RunPython.noop)]
