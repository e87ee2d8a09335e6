"""JSON HTTP API routes (/api/v1/...)."""

from django.urls import path

from tracking.tools import http as api

app_name = "api"
urlpatterns = [
    path("tools/<str:tool_name>", api.tool_view, name="tool"),
    path("openapi.json", api.openapi_view, name="openapi"),
]
