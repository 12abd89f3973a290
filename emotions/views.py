import csv

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from emotions import selectors
from emotions.clock import clock
from emotions.galleries import gallery_images
from emotions.models import CaptureSession
from fer2013 import EMOTIONS

SESSIONS_PER_PAGE = 20
DETECTIONS_PER_PAGE = 50
OVERVIEW_DAYS = 30


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
    return render(request, "emotions/live.html", {
        "emotions": EMOTIONS, "max_frame_bytes": settings.MAX_FRAME_BYTES,
    })


@login_required
def history(request: HttpRequest) -> HttpResponse:
    """The user's sessions, paginated, and the mix of emotions per day across them."""
    page = Paginator(selectors.user_sessions(user=request.user), SESSIONS_PER_PAGE).get_page(request.GET.get("page"))
    for session in page:
        session.duration_text = _duration_text(session.duration_seconds)
    return render(request, "emotions/history.html", {
        "page": page, "emotions": EMOTIONS, "overview_days": OVERVIEW_DAYS,
        "daily_mix": selectors.daily_emotion_mix(
            detections=selectors.recent_detections(user=request.user, days=OVERVIEW_DAYS)),
    })


_duration_text = clock  # sessions' durations read like a clock, as their offsets do


def _own_session(request: HttpRequest, session_id: int) -> CaptureSession:
    session = selectors.user_session(user=request.user, session_id=session_id)
    if session is None:
        raise Http404("No such session")
    session.duration_text = _duration_text(session.duration_seconds)
    return session


@login_required
def history_detail(request: HttpRequest, session_id: int) -> HttpResponse:
    """One session: the main face's emotions over time, their distribution, and the detections."""
    session = _own_session(request, session_id)
    detections = Paginator(selectors.session_detections(session=session), DETECTIONS_PER_PAGE)
    return render(request, "emotions/history_detail.html", {
        "session": session, "emotions": EMOTIONS,
        "timeline": selectors.session_timeline(session=session),
        "distribution": selectors.session_distribution(session=session),
        "dominant_basis": selectors.dominant_emotion_basis(session=session)[:3],
        "dominant_rule": selectors.DOMINANT_EMOTION_RULE,
        "page": detections.get_page(request.GET.get("page")),
    })


@login_required
def history_export_csv(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _own_session(request, session_id)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="session-{session.pk}.csv"'
    writer = csv.writer(response)
    writer.writerow(selectors.EXPORT_FIELDS)
    writer.writerows(selectors.export_rows(session=session).iterator(chunk_size=2000))
    return response


@login_required
def history_export_json(request: HttpRequest, session_id: int) -> JsonResponse:
    session = _own_session(request, session_id)
    rows = selectors.export_rows(session=session).iterator(chunk_size=2000)
    response = JsonResponse({
        "session": selectors.session_summary(session=session),
        "detections": [dict(zip(selectors.EXPORT_FIELDS, row, strict=True)) for row in rows],
    })
    response["Content-Disposition"] = f'attachment; filename="session-{session.pk}.json"'
    return response
