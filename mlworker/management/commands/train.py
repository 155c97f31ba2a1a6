import json
import time

from django.core.management.base import BaseCommand, CommandError

from jobs.services import start_job
from mlworker import selectors, training
from mlworker.backbone_names import DEFAULT_BACKBONE


class Command(BaseCommand):
    help = (
        "Train a CNN version per backbone on the photos filed by city; prints the wall time on stderr and "
        "the summary (metrics, wall_s) as JSON on the last line."
    )

    def add_arguments(self, parser):
        # Options left out are not put into the job's params, so their defaults live in one place:
        # training.TrainingOptions.
        parser.add_argument("--backbone", help=f"One name, or several: a,b (default: {DEFAULT_BACKBONE})")
        parser.add_argument("--epochs", type=int, help="Most epochs of head training (early stopping).")
        parser.add_argument(
            "--fine-tune-blocks",
            type=int,
            help="Unfreeze this many top blocks of the backbone after the head (0: head only). "
            "Default: automatic, fine-tune when there are enough photos.",
        )
        parser.add_argument("--fine-tune-epochs", type=int, help="Epochs of fine-tuning.")
        parser.add_argument(
            "--tta",
            action="store_true",
            default=None,
            help="A fine-tuned model classifies each photo as the mean of it and its mirror image (twice the "
            "work; off by default: it measured no gain on real photos, docs/ml.md).",
        )
        parser.add_argument(
            "--drop-suspects",
            action="store_true",
            default=None,
            help="Train without the photos that look filed under the wrong city (by default they train too: "
            "leaving them out cost 2.3 points of top-1 on real photos, docs/ml.md).",
        )
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

    def handle(self, *args, enqueue, if_untrained, **options):
        if if_untrained and selectors.has_trained_or_training_version():
            self.stdout.write("A trained model exists (or is being trained); not starting another.")
            return
        params = training_params(options)
        if enqueue:
            job = start_job("train", params=params)
            self.stdout.write(f"Queued train job #{job.pk} on the ml worker.")
            return

        def progress(done, total, message=""):
            if done == total or done % 10 == 0:
                self.stderr.write(f"  {message or f'{done}/{total}'}")

        started = time.perf_counter()
        try:
            summary = training.train(training.TrainingOptions.from_params(params), progress)
        except training.TrainingRejected as exc:
            raise CommandError(str(exc)) from None
        summary["wall_s"] = round(time.perf_counter() - started, 3)
        self.stderr.write(summary["message"])
        self.stderr.write(f"Training took {summary['wall_s']:.1f} s (wall clock).")
        self.stdout.write(json.dumps(summary))


def training_params(options: dict) -> dict:
    """The job's params: only what was asked for on the command line."""
    params = {}
    if options["backbone"] is not None:
        params["backbones"] = [b.strip() for b in options["backbone"].split(",") if b.strip()]
    for key in ("epochs", "fine_tune_blocks", "fine_tune_epochs", "tta", "drop_suspects"):
        if options[key] is not None:
            params[key] = options[key]
    for flag in ("activate", "skip_small_cities"):
        if options[flag]:
            params[flag] = True
    return params
