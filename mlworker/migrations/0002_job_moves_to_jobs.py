# Job moved to the jobs app: its rows are copied into jobs_job (ids kept), the admin's content type and
# permissions follow it, and the old table goes. Reversible, so the migration test can start from the old
# schema.

from django.core.management.color import no_style
from django.db import migrations

COLUMNS = (
    "id, kind, status, progress_done, progress_total, message, params, result, celery_task_id, "
    "created_by_id, created_at, started_at, heartbeat_at, finished_at"
)


def _copy(schema_editor, source: str, target: str, model) -> None:
    quote = schema_editor.quote_name
    schema_editor.execute(f"INSERT INTO {quote(target)} ({COLUMNS}) SELECT {COLUMNS} FROM {quote(source)}")
    connection = schema_editor.connection
    for sql in connection.ops.sequence_reset_sql(no_style(), [model]):
        schema_editor.execute(sql)


def _move_content_type(apps, old_app: str, new_app: str, model: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    if content_type.objects.filter(app_label=new_app, model=model).exists():
        return  # made by an earlier post_migrate; the stale one is cleaned by remove_stale_contenttypes
    content_type.objects.filter(app_label=old_app, model=model).update(app_label=new_app)


def forwards(apps, schema_editor):
    _copy(schema_editor, "mlworker_job", "jobs_job", apps.get_model("jobs", "Job"))
    _move_content_type(apps, "mlworker", "jobs", "job")


def backwards(apps, schema_editor):
    _copy(schema_editor, "jobs_job", "mlworker_job", apps.get_model("mlworker", "Job"))
    schema_editor.execute("DELETE FROM jobs_job")
    _move_content_type(apps, "jobs", "mlworker", "job")


class Migration(migrations.Migration):
    dependencies = [
        ("mlworker", "0001_initial"),
        ("jobs", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.DeleteModel(name="Job"),
    ]
