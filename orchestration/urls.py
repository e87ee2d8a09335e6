"""Staff pages for Civitai Orchestration workflows and the moderation review queue."""

from django.urls import path

from orchestration import views

app_name = "orchestration"
urlpatterns = [
    path("", views.workflow_list, name="workflow_list"),
    path("lookup/", views.lookup, name="lookup"),
    path("workflows/<str:workflow_id>/", views.workflow_detail, name="workflow_detail"),
    path("workflows/<str:workflow_id>/refresh/", views.workflow_refresh, name="workflow_refresh"),
    path("jobs/<str:job_id>/", views.job_detail, name="job_detail"),
    path("jobs/<str:job_id>/refresh/", views.job_refresh, name="job_refresh"),
    path("jobs/<str:job_id>/claim/", views.job_claim, name="job_claim"),
    path("jobs/<str:job_id>/release/", views.job_release, name="job_release"),
    path("jobs/<str:job_id>/decide/", views.job_decide, name="job_decide"),
    path("blobs/<str:blob_id>/media", views.blob_media, name="blob_media"),
    path("blobs/<str:blob_id>/reveal/", views.blob_reveal, name="blob_reveal"),
    path("review/", views.review_queue, name="review_queue"),
    path("review/export.csv", views.review_export, name="review_export"),
    path("review/at/<int:position>/", views.review_at, name="review_at"),
    path("review/bulk-clear/", views.review_bulk_clear, name="review_bulk_clear"),
]
