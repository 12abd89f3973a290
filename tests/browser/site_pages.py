"""Every page of the site a person sees, for the checks run over all of them (phone width, accessibility)."""

from __future__ import annotations

from tests.browser.conftest import in_thread
from tests.factories import CaptureSessionFactory, DetectionFactory, UserFactory

ANONYMOUS_PAGES = ["/", "/accounts/login/", "/accounts/signup/", "/emotions/happy/", "/privacy/", "/model/"]
SIGNED_IN_PAGES = ["/", "/live/", "/history/", "/history/{session}/", "/history/{session}/delete/", "/videos/",
                   "/accounts/profile/", "/accounts/password_change/", "/emotions/happy/", "/privacy/",
                   "/model/"]


def user_with_a_session(username: str) -> int:
    """A user with one ended two-face session; returns the session's id."""

    def create() -> int:
        from datetime import timedelta

        from django.utils import timezone

        started = timezone.now() - timedelta(hours=1)
        session = CaptureSessionFactory(user=UserFactory(username=username), started_at=started,
                                        ended_at=started + timedelta(minutes=47),
                                        frames_processed=40, frames_received=40, client_info={"frame_size": [640, 480]})
        for frame in range(20):
            for face in range(2):
                DetectionFactory(session=session, frame_index=frame, face_index=face, offset_ms=frame * 140_000,
                                 emotion="happy" if face == 0 else "sad")
        return session.pk

    return in_thread(create)


def signed_in_urls(live_url: str, session_id: int) -> list[str]:
    return [live_url + path.format(session=session_id) for path in SIGNED_IN_PAGES]
