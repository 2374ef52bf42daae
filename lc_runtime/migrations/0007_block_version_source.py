"""Split's source_version for versions the authoring API shapes for the published branch (ADR 0010)."""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("lc_runtime", "0006_user_state"),
    ]

    operations = [
        migrations.AddField(
            model_name="blockversionfields",
            name="source_version_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
    ]
