from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog

from civitrack.views import healthz, media

admin.site.site_header = "civitrack"
admin.site.site_title = "civitrack"
admin.site.index_title = _("Records and moderation")

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False), name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("tracking.tools.urls")),
    path("orchestration/", include("orchestration.urls")),
    path("background/", include("background.urls")),
    path("healthz", healthz, name="healthz"),
    # The language switcher posts to set_language (a cookie, then back to the page);
    # page scripts read their words from the catalog (djangojs.po, docs/i18n.md).
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
]
if settings.ASSET_STORAGE == "filesystem":
    # Uploaded asset files (tracking/uploads.py), behind a staff login.
    urlpatterns.append(path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", media, name="media"))
