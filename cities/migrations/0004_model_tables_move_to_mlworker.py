# ModelVersion, PhotoPrediction and PhotoEmbedding move to the mlworker app. Step 1 of 3: rename their
# tables (no row is copied or lost). mlworker 0003 then takes the models over in Django's state, and
# cities 0005 forgets them here.

from django.db import migrations

MOVED = ("modelversion", "photoprediction", "photoembedding")


class Migration(migrations.Migration):
    dependencies = [
        ("cities", "0003_photo_quality"),
        # Every foreign key to ModelVersion must exist before the rename: on SQLite a table rebuild in
        # between would recreate the key against the old table name.
        ("swipes", "0002_profile_without_session_key"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.AlterModelTable(name, f"mlworker_{name}") for name in MOVED],
            state_operations=[],
        )
    ]
