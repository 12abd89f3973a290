from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from emotions.galleries import gallery_images
from emotions.recognition.labels import EMOTIONS


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "emotions/home.html", {"emotions": EMOTIONS})


def gallery(request: HttpRequest, emotion: str) -> HttpResponse:
    if emotion not in EMOTIONS:
        raise Http404(f"No emotion called {emotion!r}")
    images = [settings.MEDIA_URL + name for name in gallery_images(settings.MEDIA_ROOT, emotion)]
    return render(request, "emotions/gallery.html", {
        "emotion": emotion, "emotions": EMOTIONS, "images": images, "data_path": settings.FER2013_PATH,
    })


@login_required
def live(request: HttpRequest) -> HttpResponse:
    return render(request, "emotions/live.html")


@login_required
def history(request: HttpRequest) -> HttpResponse:
    return render(request, "emotions/history.html")
