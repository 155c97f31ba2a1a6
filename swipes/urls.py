from django.urls import path

from . import views

app_name = "swipes"
urlpatterns = [
    path("", views.home, name="home"),
    path("swipe/", views.swipe, name="swipe"),
    path("undo/", views.undo, name="undo"),
    path("reshuffle/", views.reshuffle, name="reshuffle"),
    path("recommendations/", views.recommendations, name="recommendations"),
    path("recommendations/reset/", views.reset, name="reset"),
]
