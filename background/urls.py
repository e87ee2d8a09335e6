from django.urls import path

from background import views

app_name = "background"
urlpatterns = [
    path("runs/<int:run_id>/status", views.run_status, name="run_status"),
    path("sync-workflows/", views.sync_workflows_now, name="sync_workflows"),
]
