"""Course files' contentstore metadata per upload component version (ADR 0008)."""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("lc_runtime", "0004_course_lock"),
        ("openedx_content", "0014_typed_media_id"),
    ]

    operations = [
        migrations.CreateModel(
            name="CourseFileVersion",
            fields=[
                ("entity_version", models.OneToOneField(
                    on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name="lc_file",
                    serialize=False, to="openedx_content.publishableentityversion")),
                ("asset_name", models.CharField(db_index=True, max_length=255)),
                ("displayname", models.TextField(default="")),
                ("content_type", models.CharField(blank=True, max_length=255, null=True)),
                ("locked", models.BooleanField(default=False)),
                ("import_path", models.TextField(blank=True, null=True)),
                ("thumbnail_location", models.JSONField(blank=True, null=True)),
                ("md5", models.CharField(max_length=32)),
            ],
        ),
    ]
