from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog

from civitrack.views import healthz

admin.site.site_header = "civitrack"
admin.site.site_title = "civitrack"
admin.site.index_title = "Records and moderation"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False), name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("tracking.tools.urls")),
    path("orchestration/", include("orchestration.urls")),
    path("background/", include("background.urls")),
    path("healthz", healthz, name="healthz"),
    # Translations for our scripts (gettext() in static/*/*.js), from every app's locale.
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
]
