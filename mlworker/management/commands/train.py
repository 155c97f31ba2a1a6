import json

from django.core.management.base import BaseCommand, CommandError

from mlworker import modeling
from mlworker.models import Job
from mlworker.services import start_job


class Command(BaseCommand):
    help = "Train a CNN version per backbone on the photos filed by city; prints the metrics as JSON last."

    def add_arguments(self, parser):
        parser.add_argument("--backbone", default="efficientnet_lite0", help="One name, or several: a,b")
        parser.add_argument("--epochs", type=int, default=100)
        parser.add_argument("--fine-tune-blocks", type=int, default=0)
        parser.add_argument("--activate", action="store_true", help="Activate the best version when done.")
        parser.add_argument("--skip-small-cities", action="store_true")
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Send a train job to the ml worker instead of running here.",
        )
        parser.add_argument(
            "--if-untrained",
            action="store_true",
            help="Do nothing when a trained version exists or one is being trained (make demo uses this).",
        )

    def handle(
        self,
        *args,
        backbone,
        epochs,
        fine_tune_blocks,
        activate,
        skip_small_cities,
        enqueue,
        if_untrained,
        **options,
    ):
        if if_untrained and modeling.has_trained_or_training_version():
            self.stdout.write("A trained model exists (or is being trained); not starting another.")
            return
        params = {
            "backbones": [b.strip() for b in backbone.split(",") if b.strip()],
            "epochs": epochs,
            "fine_tune_blocks": fine_tune_blocks,
            "activate": activate,
            "skip_small_cities": skip_small_cities,
        }
        if enqueue:
            job = start_job(Job.Kind.TRAIN, params=params)
            self.stdout.write(f"Queued train job #{job.pk} on the ml worker.")
            return

        def progress(done, total, message=""):
            if done == total or done % 10 == 0:
                self.stderr.write(f"  {message or f'{done}/{total}'}")

        try:
            summary = modeling.train(modeling.TrainingOptions.from_params(params), progress)
        except modeling.TrainingRejected as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(summary["message"])
        self.stdout.write(json.dumps(summary))
