# Step 3 of 3 of the move to mlworker (see 0004): the models leave this app's state; the tables already
# belong to mlworker.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("cities", "0004_model_tables_move_to_mlworker"),
        ("mlworker", "0003_models_from_cities"),
        ("swipes", "0003_scores_model_in_mlworker"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="PhotoPrediction"),
                migrations.DeleteModel(name="PhotoEmbedding"),
                migrations.DeleteModel(name="ModelVersion"),
            ],
        )
    ]
