# ModelVersion moved to mlworker (cities 0004 -> mlworker 0003); the foreign key follows it in Django's
# state. The table and its constraint are unchanged.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("swipes", "0002_profile_without_session_key"),
        ("mlworker", "0003_models_from_cities"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="userprofile",
                    name="scores_model",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="mlworker.modelversion",
                    ),
                )
            ],
        )
    ]
