"""``python manage.py create_api_token USERNAME [--name N]``: issue a JSON API token."""

from django.core.management.base import BaseCommand, CommandError

from tracking.models import ApiToken
from tracking.users import active_user_named


class Command(BaseCommand):
    help = (
        "Create an API token for USERNAME and print it once. Only its sha256 is stored, so"
        " copy it now; revoke it in the admin (API tokens → revoke selected tokens)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help="the user the token acts as (recorded as created_by)")
        parser.add_argument("--name", default="", help="a label to tell tokens apart")

    def handle(self, *args, username: str, name: str, **options):
        user = active_user_named(username)
        if len(name) > ApiToken._meta.get_field("name").max_length:
            raise CommandError("--name must be at most 100 characters")
        token, raw = ApiToken.issue(user, name=name)
        # The raw token goes to stdout alone so scripts can capture it; the note to stderr.
        self.stdout.write(raw)
        self.stderr.write(
            f"Created API token {token.hint}… for {username}"
            f"{f' ({name})' if name else ''}. It is shown only this once."
        )
