"""A real Celery worker process runs training jobs from the database this test writes.

The broker is whatever the settings say: Redis when REDIS_URL is set (CI), else kombu's filesystem
transport (a fresh machine). A queue of its own keeps the test's messages away from any other worker.

The worker must see the test's database. PostgreSQL: pytest-django's test database (test_<name>),
passed to the worker as DATABASE_URL. SQLite: the test database lives in memory, which another
process cannot open, so for this test the test's connection is pointed at a migrated file instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.emotions.recognition.support import shared_tiny_model_dir
from tests.services import require_redis
from training import selectors
from training.models import ModelVersion, TrainingJob
from training.services import jobs

pytestmark = [pytest.mark.celery_worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

JOB_TIMEOUT = 300  # seconds; the machine may be busy training something else


@pytest.fixture
def worker_env(settings, shared_database, tiny_npz, tmp_path) -> dict[str, str]:
    """The environment of worker processes that share the test's database, queue and folders."""
    if os.environ.get("REDIS_URL"):
        require_redis()
    else:  # kombu's filesystem transport and Celery's file result backend need their folders
        for folder in ("queue", "processed", "results"):
            (Path(django_settings.VAR_DIR) / "celery" / folder).mkdir(parents=True, exist_ok=True)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    settings.TRAINING_QUEUE = queue
    settings.TRAINING_DATA_ROOTS = [tiny_npz.parent]
    settings.TRAINING_ARTIFACTS_DIR = tmp_path / "artifacts"
    (tiny_npz.parent / "broken.npz").write_bytes(b"this is not a zip archive")
    return {
        **os.environ,
        "DATABASE_URL": shared_database,
        "TRAINING_QUEUE": queue,
        "TRAINING_DATA_ROOTS": str(tiny_npz.parent),
        "TRAINING_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
        "CUDA_VISIBLE_DEVICES": "",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "OMP_NUM_THREADS": "1",
    }


@contextmanager
def running_worker(env: dict[str, str], node: str, log: Path) -> Iterator[dict]:
    """A real Celery worker process on the test's queue, named `node`, stopped at the end."""
    command = [sys.executable, "-m", "celery", "-A", "fer_site", "worker", "--pool=solo", "--concurrency=1",
               "-Q", env["TRAINING_QUEUE"], "-n", f"{node}@%h", "--without-gossip", "--without-mingle",
               "--loglevel=INFO"]
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=django_settings.BASE_DIR, env=env, stdout=output,
                                   stderr=subprocess.STDOUT)
    try:
        yield {"process": process, "log": log}
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def worker(worker_env, tmp_path) -> Iterator[dict]:
    with running_worker(worker_env, worker_env["TRAINING_QUEUE"], tmp_path / "worker.log") as process:
        yield process


def wait_for(job: TrainingJob, worker: dict) -> TrainingJob:
    deadline = time.monotonic() + JOB_TIMEOUT
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            return job
        if worker["process"].poll() is not None:
            pytest.fail(f"the worker exited ({worker['process'].returncode}):\n{worker['log'].read_text()[-4000:]}")
        time.sleep(1)
    pytest.fail(f"{job.name} is still {job.state} after {JOB_TIMEOUT} s:\n{worker['log'].read_text()[-4000:]}")


def test_the_worker_retrains_evaluates_and_reports_failures(worker, tiny_npz, tmp_path_factory):
    data_root = tiny_npz.parent
    options = {"batch_size": 16, "jit_compile": False}
    baseline = active_or_new_version(tmp_path_factory)

    retrain = wait_for(jobs.create_retrain_job(architecture="tiny", epochs=1, dataset=data_root / "tiny.npz",
                                                   options=options), worker)
    assert retrain.state == "SUCCEEDED", retrain.error
    assert retrain.progress == 100 and retrain.current_epoch == 1 and retrain.worker.startswith("test-")
    version = retrain.result_version
    assert version is not None and not version.is_active and version.metrics["n"] == 21
    assert (Path(version.artifact_dir) / "model.tflite").is_file()

    evaluation = wait_for(jobs.create_evaluate_job(version=version, dataset=data_root / "tiny.npz",
                                                       split="PublicTest"), worker)
    assert evaluation.state == "SUCCEEDED", evaluation.error
    assert evaluation.metrics["split"] == "PublicTest" and len(evaluation.metrics["confusion_matrix"]) == 7
    assert "metrics_confusion.png" in selectors.job_images(evaluation)

    failing = wait_for(jobs.create_retrain_job(architecture="tiny", epochs=1, dataset=data_root / "broken.npz",
                                                   options=options), worker)
    assert failing.state == "FAILED"
    assert "broken.npz: not a readable .npz file" in failing.error
    assert selectors.active_model_version() == baseline
    assert not ModelVersion.objects.filter(name=failing.name).exists()


def active_or_new_version(tmp_path_factory) -> ModelVersion:
    """An active version to check the registry against (the shipped one if it is registered)."""
    active = selectors.active_model_version()
    if active is not None:
        return active
    from tests.factories import ModelVersionFactory

    return ModelVersionFactory(artifact_dir=str(shared_tiny_model_dir(tmp_path_factory)), is_active=True)


def test_a_job_whose_worker_is_killed_is_taken_over_by_a_worker_with_another_name(worker_env, tiny_npz, tmp_path,
                                                                                  settings):
    """A container replaced mid-job: the new worker has another node name, so nothing redelivers
    to it; the heartbeat expires, the periodic recovery queues the job again, the new worker
    resumes it from its checkpoint and finishes it."""
    settings.TRAINING_HEARTBEAT_TIMEOUT = 6
    env = {**worker_env, "TRAINING_HEARTBEAT_SECONDS": "1", "TRAINING_HEARTBEAT_TIMEOUT": "6"}
    job = jobs.create_retrain_job(architecture="tiny", epochs=40, dataset=tiny_npz,
                                      options={"batch_size": 16, "jit_compile": False})
    with running_worker(env, "old-container", tmp_path / "old.log") as old:
        deadline = time.monotonic() + JOB_TIMEOUT
        while (job.current_epoch or 0) < 2:
            assert time.monotonic() < deadline and old["process"].poll() is None, old["log"].read_text()[-3000:]
            time.sleep(0.2)
            job.refresh_from_db()
        os.kill(old["process"].pid, signal.SIGKILL)
        old["process"].wait()
    killed_at_epoch = TrainingJob.objects.get(pk=job.pk).current_epoch
    assert TrainingJob.objects.get(pk=job.pk).state == "RUNNING"

    with running_worker(env, "new-container", tmp_path / "new.log") as new:
        time.sleep(settings.TRAINING_HEARTBEAT_TIMEOUT + 1)
        assert [lost.pk for lost in jobs.recover_lost_jobs()] == [job.pk]  # what beat runs every minute
        job = wait_for(job, new)
    assert job.state == "SUCCEEDED", job.error
    assert job.attempts == 2 and job.worker.startswith("new-container@")
    assert "worker old-container@" in job.log_tail and "resuming from the last checkpoint" in job.log_tail
    assert job.current_epoch > killed_at_epoch  # it went on (early stopping may end it before epoch 40)
