"""The tracking admin, one module per screen family.

``records`` registers the Prompt, Asset and Post admins (the main screen), ``tools``
the API-token admin and the record actions, ``civitai`` the import and stats views
the record admins use. Django's autodiscovery imports this package.
"""

from tracking.admin import records, tools  # noqa: F401  (registers the ModelAdmins)
