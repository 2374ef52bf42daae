"""Compiled documents move from pickle to BSON (ADR 0007): rows in the old format are a cache that can
never be read again, so they go; the facade compiles each course again on first use."""
from django.db import migrations, models


def drop_pickled_compiles(apps, schema_editor):
    apps.get_model("modulestore_compat", "CompiledChunk").objects.all().delete()
    apps.get_model("modulestore_compat", "CompiledCourse").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("modulestore_compat", "0004_compiledchunk_retired")]

    operations = [
        migrations.RunPython(drop_pickled_compiles, migrations.RunPython.noop),
        migrations.AddField(model_name="compiledcourse", name="compiler_version",
                            field=models.IntegerField(default=0)),
        migrations.AddField(model_name="compiledchunk", name="token",
                            field=models.CharField(default="", max_length=32)),
    ]
