"""First-run set-up for `make run`: a local admin login and demo data on an empty database."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from devdata import orchestration_demo
from devdata import tracking_demo as demo
from orchestration.models import Workflow


class Command(BaseCommand):
    help = (
        "Create a local superuser if none exists (printing its generated password once) "
        "and load demo data when the database is empty."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where the server will run; demo asset URLs point at its static files.",
        )
        parser.add_argument("--no-demo", action="store_true", help="Skip the demo data.")

    def handle(self, *args, username, base_url, no_demo, **options):
        user_model = get_user_model()
        admin_user = user_model.objects.filter(is_superuser=True).order_by("pk").first()
        if admin_user is None:
            password = secrets.token_urlsafe(12)
            admin_user = user_model.objects.create_superuser(username, "", password)
            self.stdout.write(
                self.style.SUCCESS(
                    "Created a local admin login (shown only this once):\n"
                    f"    username: {username}\n    password: {password}"
                )
            )
        else:
            name = admin_user.get_username()
            self.stdout.write(
                f"Local admin login: {name} (the password was printed on the first run). "
                f"To set a new one: DEBUG=true .venv/bin/python manage.py changepassword {name}"
            )
        if no_demo:
            return
        if demo.is_empty():
            counts = demo.load_demo(admin_user, base_url=base_url)
            self.stdout.write(
                f"Loaded demo data: {counts['posts']} posts, {counts['assets']} assets, "
                f"{counts['prompts']} prompts."
            )
        if not Workflow.objects.exists():
            orchestration_demo.load_demo()
            self.stdout.write(
                f"Loaded demo Orchestration workflows: {Workflow.objects.count()} workflows"
                " and a review queue."
            )
