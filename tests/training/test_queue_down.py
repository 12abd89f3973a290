"""Creating a job while the broker (Redis) is down: the job is recorded as failed, and the API and
the admin say that the queue is down instead of pretending it was queued."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from training.models import TrainingJob
from training.services import jobs

pytestmark = pytest.mark.django_db(transaction=True)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe is closed


def run_with_redis_down(script: str, database_url: str, data_root, tmp_path) -> subprocess.CompletedProcess:
    """Run `script` in a Django process of its own whose REDIS_URL points where nothing listens."""
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0",
           "TRAINING_DATA_ROOTS": str(data_root), "TRAINING_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
           "DJANGO_SETTINGS_MODULE": "fer_site.settings", "ALLOWED_HOSTS": "testserver"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120,
                            cwd=django_settings.BASE_DIR)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_a_job_created_while_redis_is_down_is_recorded_as_failed(shared_database, data_root, tmp_path):
    """Real Celery publishing to a Redis address where nothing listens, in a process of its own."""
    script = (
        "import django; django.setup()\n"
        "from training.services import jobs\n"
        f"job = jobs.create_retrain_job(architecture='tiny', epochs=1, dataset={str(data_root / 'faces.npz')!r})\n"
        "print(job.state, jobs.queue_was_down(job))\n"
    )
    result = run_with_redis_down(script, shared_database, data_root, tmp_path)
    assert result.stdout.split() == ["FAILED", "True"]
    job = TrainingJob.objects.get()
    assert job.error.startswith("could not reach the task queue")


def test_the_api_answers_503_when_the_queue_is_down(staff, data_root, monkeypatch):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(jobs.current_app, "send_task", broker_down)
    api = APIClient()
    api.force_authenticate(staff)
    response = api.post(reverse("api-job-list"), {
        "kind": "retrain", "architecture": "tiny", "epochs": 1, "dataset": str(data_root / "faces.npz"),
    }, format="json")
    assert response.status_code == 503
    assert "training queue is unavailable" in response.json()["detail"]
    assert TrainingJob.objects.get().state == "FAILED"


def test_the_admin_says_the_queue_is_down(staff, client, data_root, monkeypatch):
    def broker_down(*args, **kwargs):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(jobs.current_app, "send_task", broker_down)
    client.force_login(staff)
    response = client.post(reverse("admin:training_modelversion_retrain"), {
        "architecture": "tiny", "epochs": 1, "dataset": str((data_root / "faces.npz").resolve()), "batch_size": 16,
        "schedule": "plateau",
    }, follow=True)
    assert response.status_code == 200
    assert "training queue is unavailable" in response.content.decode()


def test_with_redis_down_the_api_still_answers_that_the_queue_is_down(data_root, shared_database, tmp_path):
    """Everything Redis serves is down (cache for the throttles, broker): a clear 503, not a 500."""
    script = (
        "import django; django.setup()\n"
        "from django.contrib.auth import get_user_model\n"
        "from rest_framework.test import APIClient\n"
        "admin = get_user_model().objects.create_superuser('queue-admin', 'a@example.com', 'x' * 20)\n"
        "api = APIClient(); api.force_authenticate(admin)\n"
        "response = api.post('/api/jobs/', {'kind': 'retrain', 'architecture': 'tiny', 'epochs': 1,\n"
        f"                   'dataset': {str(data_root / 'faces.npz')!r}}}, format='json')\n"
        "print(response.status_code, response.json()['detail'][:40])\n"
    )
    result = run_with_redis_down(script, shared_database, data_root, tmp_path)
    assert result.stdout.strip().startswith("503 The training queue is unavailable")
