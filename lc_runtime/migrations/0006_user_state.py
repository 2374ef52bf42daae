"""Learner state tables (StudentModule's shape) for runs without edx-platform (issue #9)."""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("lc_runtime", "0005_course_file_version"),
    ]

    operations = [
        migrations.CreateModel(
            name="StudentBlockState",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("user_id", models.CharField(max_length=255)),
                ("course_key", models.CharField(db_index=True, max_length=255)),
                ("usage_key", models.CharField(max_length=255)),
                ("block_type", models.CharField(max_length=64)),
                ("state", models.TextField(default="{}")),
                ("grade", models.FloatField(blank=True, null=True)),
                ("max_grade", models.FloatField(blank=True, null=True)),
                ("created", models.DateTimeField(auto_now_add=True)),
                ("modified", models.DateTimeField(auto_now=True)),
            ],
            options={"unique_together": {("user_id", "usage_key")}},
        ),
        migrations.CreateModel(
            name="UserScopedField",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("scope", models.CharField(max_length=64)),
                ("user_id", models.CharField(default="", max_length=255)),
                ("block_scope_id", models.CharField(default="", max_length=255)),
                ("field_name", models.CharField(max_length=255)),
                ("value", models.TextField()),
                ("modified", models.DateTimeField(auto_now=True)),
            ],
            options={"unique_together": {("scope", "user_id", "block_scope_id", "field_name")}},
        ),
    ]
