from django.core.management.base import BaseCommand, CommandError

from mlworker import modeling


class Command(BaseCommand):
    help = 'Which city does each photo look like? Prints "city NN.NN %" lines under the active model.'

    def add_arguments(self, parser):
        parser.add_argument("images", nargs="+")
        parser.add_argument("--top", type=int, default=5)

    def handle(self, *args, images, top, **options):
        try:
            results = modeling.classify_paths(images, k=top)
        except modeling.TrainingRejected as exc:
            raise CommandError(str(exc)) from None
        for path, ranking in zip(images, results, strict=True):
            if len(images) > 1:
                self.stdout.write(f"{path}:")
            for city, probability in ranking:
                self.stdout.write(f"{city.name} {100 * probability:.2f} %")
