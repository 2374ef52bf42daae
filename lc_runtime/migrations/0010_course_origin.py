"""Course copy origins (#12)."""
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("lc_runtime", "0009_shadow_stage"),
    ]

    operations = [
        migrations.CreateModel(
            name="CourseOrigin",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("course_key", models.CharField(db_index=True, max_length=255)),
                ("source_course_key", models.CharField(max_length=255)),
                ("source_draft_change_log", models.BigIntegerField(blank=True, null=True)),
                ("source_publish_log", models.BigIntegerField(blank=True, null=True)),
                ("subtrees", models.JSONField(default=list)),
                ("copied_at", models.DateTimeField(auto_now_add=True)),
                ("copied_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                                related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={"ordering": ["id"]},
        ),
    ]
