from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("modulestore_compat", "0003_compiled_chunks")]

    operations = [
        migrations.AddField(model_name="compiledchunk", name="retired",
                            field=models.DateTimeField(blank=True, null=True)),
    ]
