# Step 2 of 3 of the move from cities (see cities 0004, which renamed the tables): mlworker takes the
# models over in Django's state, and their admin content types and permissions follow them.

import django.db.models.deletion
from django.db import migrations, models

MOVED = ("modelversion", "photoprediction", "photoembedding")


def move_content_types(apps, old_app, new_app):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not content_type.objects.filter(app_label=new_app, model=model).exists():
            content_type.objects.filter(app_label=old_app, model=model).update(app_label=new_app)


class Migration(migrations.Migration):
    dependencies = [
        ("mlworker", "0002_job_moves_to_jobs"),
        ("cities", "0004_model_tables_move_to_mlworker"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="ModelVersion",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=120)),
                        ("backbone", models.CharField(max_length=60)),
                        ("city_ids", models.JSONField(default=list, help_text="City ids in the order of the probability vector.")),
                        ("metrics", models.JSONField(blank=True, default=dict)),
                        ("params", models.JSONField(blank=True, default=dict)),
                        ("artifact_path", models.CharField(blank=True, max_length=500)),
                        (
                            "status",
                            models.CharField(
                                choices=[("training", "Training"), ("ready", "Ready"), ("failed", "Failed")],
                                default="training",
                                max_length=10,
                            ),
                        ),
                        ("is_active", models.BooleanField(default=False)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("activated_at", models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        "ordering": ["-created_at"],
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(("is_active", True)), fields=("is_active",), name="one_active_model"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="PhotoPrediction",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("probabilities", models.BinaryField()),
                        (
                            "model_version",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="predictions",
                                to="mlworker.modelversion",
                            ),
                        ),
                        (
                            "photo",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, related_name="predictions", to="cities.photo"
                            ),
                        ),
                    ],
                    options={
                        "constraints": [
                            models.UniqueConstraint(fields=("model_version", "photo"), name="one_prediction_per_model")
                        ]
                    },
                ),
                migrations.CreateModel(
                    name="PhotoEmbedding",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("backbone", models.CharField(max_length=60)),
                        ("vector", models.BinaryField()),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "photo",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, related_name="embeddings", to="cities.photo"
                            ),
                        ),
                    ],
                    options={
                        "constraints": [
                            models.UniqueConstraint(fields=("photo", "backbone"), name="one_embedding_per_backbone")
                        ]
                    },
                ),
            ],
        ),
        migrations.RunPython(
            lambda apps, schema_editor: move_content_types(apps, "cities", "mlworker"),
            lambda apps, schema_editor: move_content_types(apps, "mlworker", "cities"),
        ),
    ]
