from django.urls import path

from . import views

app_name = "mlworker"
urlpatterns = [
    path("classify/", views.classify, name="classify"),
    path("classify/<int:pk>/", views.classify_result, name="classify_result"),
    # Before the cities app's /cities/<slug>/, so "similarity" is never read as a city.
    path("cities/similarity/", views.similarity_heatmap, name="similarity"),
    path("cities/<slug:slug>/look-alikes/", views.lookalikes, name="lookalikes"),
]
