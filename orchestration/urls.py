"""Staff pages for Civitai Orchestration workflows and the moderation review queue."""

from django.urls import path  # noqa: F401

app_name = "orchestration"
urlpatterns: list = []
