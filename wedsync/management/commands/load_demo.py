import os

from django.core.management.base import BaseCommand, CommandError

from wedsync.demo import load_demo


class Command(BaseCommand):
    help = "Load the demo wedding, its vendors, people, timeline and contacts (safe to re-run)."

    def add_arguments(self, parser):
        parser.add_argument("--admin-username", default="admin")
        parser.add_argument(
            "--admin-password-env",
            default="DEMO_ADMIN_PASSWORD",
            help="Environment variable holding the admin password (kept out of the process list).",
        )

    def handle(self, *args, admin_username, admin_password_env, **options):
        password = os.environ.get(admin_password_env, "")
        if not password:
            raise CommandError(f"Set {admin_password_env} to the demo admin's password.")
        result = load_demo(admin_password=password, admin_username=admin_username)
        self.stdout.write(
            self.style.SUCCESS(f"Demo wedding ready: {result.wedding} ({result.wedding.pk})")
        )
