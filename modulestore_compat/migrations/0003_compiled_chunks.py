from django.db import migrations, models


def drop_compiles(apps, schema_editor):
    """Compiles are a cache; the old single-blob format is recompiled on first read."""
    apps.get_model("modulestore_compat", "CompiledCourse").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("modulestore_compat", "0002_compiled_course")]

    operations = [
        migrations.RunPython(drop_compiles, migrations.RunPython.noop),
        migrations.RemoveField(model_name="compiledcourse", name="definitions"),
        migrations.AddField(model_name="compiledcourse", name="chunks", field=models.TextField(default="")),
        migrations.CreateModel(
            name="CompiledChunk",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("course_key", models.CharField(max_length=255)),
                ("digest", models.CharField(max_length=40)),
                ("blocks", models.BinaryField()),
                ("definitions", models.BinaryField()),
            ],
        ),
        migrations.AddConstraint(
            model_name="compiledchunk",
            constraint=models.UniqueConstraint(fields=("course_key", "digest"), name="mc_compiled_chunk_digest"),
        ),
    ]
