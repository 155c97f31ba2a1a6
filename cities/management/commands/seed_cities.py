from django.core.management.base import BaseCommand

from cities.services import seed_cities


class Command(BaseCommand):
    help = "Load or refresh the default city catalogue (the 266 Teleport urban areas)."

    def handle(self, *args, **options):
        created, updated = seed_cities()
        self.stdout.write(self.style.SUCCESS(f"Cities: {created} created, {updated} updated."))
