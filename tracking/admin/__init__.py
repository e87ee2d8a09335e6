"""The tracking admin, one module per screen family.

``records`` registers the Prompt, Asset and Post admins (the main screen),
``near_duplicates`` the pairs page and the verdicts given there, ``tools``
the API-token admin and the record actions, ``civitai`` the import and stats views
the record admins use. Django's autodiscovery imports this package.
"""

from tracking.admin import near_duplicates, records, tools  # noqa: F401  (registers the ModelAdmins)
