from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


def _sqlite_functions(sender, connection, **kwargs):
    """Give SQLite the popcount PostgreSQL has (``tracking.models.Hamming``)."""
    if connection.vendor == "sqlite":
        from tracking.perceptual import hamming_or_none

        connection.connection.create_function(
            "civitrack_hamming", 2, hamming_or_none, deterministic=True
        )


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = _("Tracking")

    def ready(self):
        connection_created.connect(_sqlite_functions, dispatch_uid="tracking_sqlite_functions")
