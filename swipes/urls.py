from django.urls import path

from . import ranking_views, views

app_name = "swipes"
urlpatterns = [
    path("", views.home, name="home"),
    path("swipe/", views.swipe, name="swipe"),
    path("undo/", views.undo, name="undo"),
    path("reshuffle/", views.reshuffle, name="reshuffle"),
    path("recommendations/", ranking_views.recommendations, name="recommendations"),
    path("recommendations/visited/", ranking_views.visited, name="visited"),
    path("settings/reveal/", ranking_views.reveal_setting, name="reveal_setting"),
    path("shared/<str:token>/", ranking_views.shared, name="shared"),
    path("shared/<str:token>/og.png", ranking_views.shared_image, name="shared_image"),
    path("recommendations/reset/", views.reset, name="reset"),
]
