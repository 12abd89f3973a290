from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from emotions import data_services, exports, selectors
from emotions.clock import clock
from emotions.filters import HistoryFilter
from emotions.forms import SessionNoteForm
from emotions.galleries import gallery_images
from emotions.model_card import model_card
from emotions.models import CaptureSession
from training.core.labels import EMOTIONS

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
        "emotions": EMOTIONS, "max_frame_bytes": settings.MAX_FRAME_BYTES, "card": model_card(),
    })


def model_page(request: HttpRequest) -> HttpResponse:
    """The model card: what the model in use is, its figures (from its metrics files) and its limits."""
    return render(request, "emotions/model.html", {"card": model_card(), "emotions": EMOTIONS})


@login_required
def history(request: HttpRequest) -> HttpResponse:
    """The user's sessions (filtered by the GET form), paginated, and the mix of emotions per day across them."""
    sessions = selectors.user_sessions(user=request.user)
    filters = HistoryFilter(request.GET, queryset=sessions)
    page = Paginator(filters.qs if filters.is_valid() else sessions.none(), SESSIONS_PER_PAGE).get_page(
        request.GET.get("page"))
    for session in page:
        session.duration_text = _duration_text(session.duration_seconds)
    return render(request, "emotions/history.html", {
        "page": page, "filters": filters, "filtered": any(request.GET.get(name) for name in filters.filters),
        "has_sessions": page.paginator.count or sessions.exists(), "query": _query_without_page(request),
        "emotions": EMOTIONS, "overview_days": OVERVIEW_DAYS,
        "daily_mix": selectors.daily_emotion_mix(
            detections=selectors.recent_detections(user=request.user, days=OVERVIEW_DAYS)),
    })


def _query_without_page(request: HttpRequest) -> str:
    """The filters of the page's address, for its pagination links."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


_duration_text = clock  # sessions' durations read like a clock, as their offsets do


def _own_session(request: HttpRequest, session_id: int) -> CaptureSession:
    session = selectors.user_session(user=request.user, session_id=session_id)
    if session is None:
        raise Http404("No such session")
    session.duration_text = _duration_text(session.duration_seconds)
    return session


@login_required
def history_detail(request: HttpRequest, session_id: int) -> HttpResponse:
    """One session: each tracked face's emotions over time (the main face's in sessions stored
    without tracks), their distribution, and the detections."""
    session = _own_session(request, session_id)
    detections = Paginator(selectors.session_detections(session=session), DETECTIONS_PER_PAGE)
    track_timelines = selectors.session_track_timelines(session=session)
    return render(request, "emotions/history_detail.html", {
        "session": session, "emotions": EMOTIONS, "note_form": SessionNoteForm(instance=session),
        "track_timelines": track_timelines, "max_track_timelines": selectors.MAX_TRACK_TIMELINES,
        "timeline": None if track_timelines else selectors.session_timeline(session=session),
        "distribution": selectors.session_distribution(session=session),
        "dominant_basis": selectors.dominant_emotion_basis(session=session)[:3],
        "dominant_rule": selectors.DOMINANT_EMOTION_RULE,
        "page": detections.get_page(request.GET.get("page")),
    })


@login_required
def history_export_csv(request: HttpRequest, session_id: int) -> StreamingHttpResponse:
    session = _own_session(request, session_id)
    rows = selectors.export_rows(session=session).iterator(chunk_size=2000)
    return exports.download(request, exports.csv_lines(selectors.EXPORT_FIELDS, rows),
                            content_type="text/csv", filename=f"session-{session.pk}.csv")


@login_required
def history_export_json(request: HttpRequest, session_id: int) -> StreamingHttpResponse:
    session = _own_session(request, session_id)
    rows = selectors.export_rows(session=session).iterator(chunk_size=2000)
    head = {"session": selectors.session_export_header(session=session)}
    return exports.download(request, exports.json_document(head, selectors.EXPORT_FIELDS, rows),
                            content_type="application/json", filename=f"session-{session.pk}.json")


@login_required
def history_export_all_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Every detection of every session of the user, one row each, naming its session."""
    rows = selectors.user_export_rows(user=request.user)
    return exports.download(request, exports.csv_lines(selectors.USER_EXPORT_FIELDS, rows),
                            content_type="text/csv", filename="moodlens-sessions.csv")


@login_required
def history_export_all_json(request: HttpRequest) -> StreamingHttpResponse:
    """The user's sessions, then every detection of them, one object each, naming its session."""
    head = {"sessions": selectors.user_session_export_headers(user=request.user)}
    rows = selectors.user_export_rows(user=request.user)
    return exports.download(request, exports.json_document(head, selectors.USER_EXPORT_FIELDS, rows),
                            content_type="application/json", filename="moodlens-sessions.json")


@login_required
@require_http_methods(["GET", "POST"])
def history_delete(request: HttpRequest, session_id: int) -> HttpResponse:
    """GET: ask to confirm; POST: delete the session, its detections and its video file."""
    session = _own_session(request, session_id)
    if request.method == "POST":
        data_services.delete_session(session=session)
        messages.success(request, f"Deleted {session_label(session)} and its detections.")
        return redirect("history")
    return render(request, "emotions/history_delete.html", {"session": session})


@login_required
@require_POST
def history_annotate(request: HttpRequest, session_id: int) -> HttpResponse:
    """Save the session's title and note."""
    session = _own_session(request, session_id)
    form = SessionNoteForm(request.POST)
    if form.is_valid():
        data_services.annotate_session(session=session, title=form.cleaned_data["title"],
                                       note=form.cleaned_data["note"])
        messages.success(request, "Saved the title and note.")
    else:
        messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
    return redirect("history-detail", session_id=session.pk)


def session_label(session: CaptureSession) -> str:
    return f"“{session.title}”" if session.title else f"session {session.pk}"


def privacy(request: HttpRequest) -> HttpResponse:
    """What the site stores, who sees it and for how long."""
    return render(request, "emotions/privacy.html", {"retention_days": data_services.retention_days()})
