from django.urls import path

from . import views

app_name = "cities"
urlpatterns = [
    path("<slug:slug>/", views.city_detail, name="detail"),
]
