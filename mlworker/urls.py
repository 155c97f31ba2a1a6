from django.urls import path

from . import views

app_name = "mlworker"
urlpatterns = [
    path("rescore/", views.start_rescore, name="start_rescore"),
    path("<int:pk>/progress/", views.job_progress, name="job_progress"),
]
