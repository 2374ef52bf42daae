"""Course compile origins (#12): which source block each compiled block came from."""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("lc_runtime", "0010_course_origin"),
    ]

    operations = [
        migrations.AddField(model_name="courseorigin", name="blocks", field=models.JSONField(default=dict)),
        migrations.AddField(model_name="courseorigin", name="kind",
                            field=models.CharField(default="copy", max_length=16)),
    ]
