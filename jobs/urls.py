from django.urls import path

from . import views

app_name = "jobs"
urlpatterns = [
    path("<int:pk>/progress/", views.job_progress, name="job_progress"),
]
