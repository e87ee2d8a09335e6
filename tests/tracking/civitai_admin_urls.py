"""URLconf for the admin import view tests (the lead mounts the view in the real admin)."""

from django.contrib import admin
from django.urls import path

from tracking.admin_civitai import import_post_view

urlpatterns = [
    path("admin/tracking/post/import/", import_post_view, name="tracking_import_post"),
    path("admin/", admin.site.urls),
]
