from django.urls import path

from emotions import views

urlpatterns = [
    path("", views.home, name="home"),
    path("emotions/<str:emotion>/", views.gallery, name="gallery"),
]
urlpatterns += [
    path("live/", views.live, name="live"),
    path("history/", views.history, name="history"),
]
