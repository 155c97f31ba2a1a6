import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create a superuser for the demo (or make sure it exists) and print its login. The password is stable "
        "across restarts: --password when given, else the one kept in --password-file (made on the first run)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="", help="Default: the one kept in --password-file.")
        parser.add_argument(
            "--password-file",
            default="",
            help="Where the generated password is kept (default: VAR_DIR/admin-password, git-ignored).",
        )

    def handle(self, *args, username: str, password: str, password_file: str, **options):
        kept = Path(password_file) if password_file else Path(settings.VAR_DIR) / "admin-password"
        where = "from ADMIN_PASSWORD" if password else f"kept in {kept}"
        if not password:
            password = kept.read_text().strip() if kept.exists() else ""
        if not password:
            password = secrets.token_urlsafe(9)
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.write_text(password + "\n")
            kept.chmod(0o600)
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = True
        if not user.check_password(password):
            user.set_password(password)
        user.save()
        self.stdout.write(f"{username} / {password}  ({where})")
