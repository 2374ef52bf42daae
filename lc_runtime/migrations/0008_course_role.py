"""Course roles of the authoring REST API (#12)."""
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("lc_runtime", "0007_block_version_source"),
    ]

    operations = [
        migrations.CreateModel(
            name="CourseRole",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("org", models.CharField(db_index=True, max_length=255)),
                ("course_key", models.CharField(blank=True, db_index=True, default="", max_length=255)),
                ("role", models.CharField(choices=[("viewer", "viewer"), ("author", "author"),
                                                   ("publisher", "publisher"), ("admin", "admin")], max_length=16)),
                ("granted_at", models.DateTimeField(auto_now=True)),
                ("granted_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                                 related_name="+", to=settings.AUTH_USER_MODEL)),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                           related_name="lc_runtime_roles", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("user", "org", "course_key"),
                                                        name="lc_role_one_per_scope")],
            },
        ),
    ]
