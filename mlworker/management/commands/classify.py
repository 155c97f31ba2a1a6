from django.core.management.base import BaseCommand, CommandError

from mlworker import services


def open_local(path: str):
    return open(path, "rb")  # noqa: SIM115 - the pipeline closes it


class Command(BaseCommand):
    help = 'Which city does each photo look like? Prints "city NN.NN %" lines under the active model.'

    def add_arguments(self, parser):
        parser.add_argument("images", nargs="+")
        parser.add_argument("--top", type=int, default=5)

    def handle(self, *args, images, top, **options):
        try:
            results = services.classify_images(images, k=top, open_file=open_local)
        except services.ModelUnavailable as exc:
            raise CommandError(str(exc)) from None
        for path, ranking in zip(images, results, strict=True):
            if len(images) > 1:
                self.stdout.write(f"{path}:")
            for city, probability in ranking:
                self.stdout.write(f"{city.name} {100 * probability:.2f} %")
