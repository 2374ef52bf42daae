"""The embedded contentstore: course files of Split courses, their bytes in content-addressed chunks (ADR 0008)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('modulestore_compat', '0005_compiled_format_bson'),
    ]

    operations = [
        migrations.CreateModel(
            name='SplitAssetBlob',
            fields=[
                ('sha256', models.CharField(max_length=64, primary_key=True, serialize=False)),
                ('length', models.BigIntegerField()),
            ],
        ),
        migrations.CreateModel(
            name='SplitAsset',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('course_id', models.CharField(max_length=255)),
                ('category', models.CharField(max_length=16)),
                ('name', models.CharField(max_length=255)),
                ('displayname', models.TextField(default='')),
                ('content_type', models.CharField(blank=True, max_length=255, null=True)),
                ('locked', models.BooleanField(default=False)),
                ('import_path', models.TextField(blank=True, null=True)),
                ('thumbnail_location', models.JSONField(blank=True, null=True)),
                ('length', models.BigIntegerField()),
                ('md5', models.CharField(max_length=32)),
                ('upload_date', models.DateTimeField()),
                ('extra', models.JSONField(default=dict)),
                ('blob', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='assets', to='modulestore_compat.splitassetblob')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('course_id', 'category', 'name'), name='mc_asset_uniq_name')],
            },
        ),
        migrations.CreateModel(
            name='SplitAssetChunk',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('n', models.IntegerField()),
                ('data', models.BinaryField()),
                ('blob', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='chunks', to='modulestore_compat.splitassetblob')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('blob', 'n'), name='mc_asset_chunk_n')],
            },
        ),
    ]
