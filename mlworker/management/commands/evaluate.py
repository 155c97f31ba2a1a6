import argparse
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mlworker import evaluation, services


class Command(BaseCommand):
    help = (
        "Classify every image under PATH/<city-slug>/ with the active model; print top-1, top-5, macro-F1, "
        "the accuracy per city and the most confused pairs."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--json", dest="as_json", action="store_true", help="Print the metrics as JSON on the last line."
        )
        parser.add_argument(
            "--tta",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="Classify with (--tta) or without (--no-tta) flip test-time augmentation, whatever the model "
            "was trained with (to measure its worth).",
        )

    def handle(self, *args, path, as_json, tta, **options):
        if not path.is_dir():
            raise CommandError(f"{path} is not a folder of <city-slug>/ sub-folders")
        try:
            metrics = evaluation.evaluate_folder(path, tta=tta)
        except services.ModelUnavailable as exc:
            raise CommandError(str(exc)) from None
        for name in metrics["unknown_cities"]:
            self.stderr.write(f"skipped {name}/: the active model does not know this city")
        for name in metrics["unreadable"]:
            self.stderr.write(f"skipped {name}: not readable as an image")
        self.stdout.write(
            f"{metrics['n_images']} images of {metrics['n_cities']} cities: top-1 {metrics['top1']:.1%}, "
            f"top-5 {metrics['top5']:.1%}, macro-F1 {metrics['macro_f1']:.3f}"
        )
        self.stdout.write("Accuracy per city:")
        width = max(len(name) for name in metrics["per_city"])
        for name, city in sorted(
            metrics["per_city"].items(), key=lambda item: (item[1]["accuracy"], item[0])
        ):
            self.stdout.write(f"  {name:<{width}}  {city['accuracy']:6.1%}  of {city['n']}")
        if metrics["confused"]:
            self.stdout.write("Most confused (true → predicted: n, share of true):")
            for pair in metrics["confused"]:
                self.stdout.write(
                    f"  {pair['true']} → {pair['predicted']}: {pair['n']} ({pair['share']:.0%} of {pair['true']})"
                )
        else:
            self.stdout.write("No confusions: every image was classified correctly.")
        if as_json:
            self.stdout.write(json.dumps(metrics))
