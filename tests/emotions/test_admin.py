import pytest
from django.urls import reverse

from emotions.models import VideoAnalysis
from tests.factories import DetectionFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["capturesession", "detection", "videoanalysis"])
def test_admin_list_pages_render_for_superuser(staff_client, model):
    detection = DetectionFactory()
    VideoAnalysis.objects.create(session=detection.session, file_name="user-clip.mp4")
    response = staff_client.get(reverse(f"admin:emotions_{model}_changelist"), {"q": "user"})
    assert response.status_code == 200


def test_admin_is_closed_to_regular_users(user_client):
    response = user_client.get(reverse("admin:emotions_detection_changelist"))
    assert response.status_code == 302
