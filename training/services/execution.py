"""Training jobs from the worker's side (the Celery task calls `run_job`): claiming a job for this
run, running its training or evaluation from `training.core`, and reporting its progress on the
job's row (epochs, heartbeats, the result) until it SUCCEEDED, FAILED or was CANCELLED."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connections, transaction
from django.utils import timezone

from training.core.artifacts import METRICS_FILE
from training.models import TrainingJob
from training.services.job_rows import AttemptSuperseded, finish_job, heartbeat_timeout, update_job, with_log_line
from training.services.jobs import TRAIN_OPTIONS
from training.services.registry import register_model_version

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


def _run_died_on_this_node(job: TrainingJob, worker: str) -> bool:
    """The job's last run was in a process of this worker node that is gone (a prefork child the
    OOM killer took, say): the message Celery gives back must resume the job now, not in an hour."""
    if job.worker != worker or not job.worker_pid:
        return False
    if job.worker_pid == os.getpid():
        return True  # this process is taking a new task, so its earlier run has ended
    try:
        os.kill(job.worker_pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, under another user
        return False
    return False


def claim_job(job_id: int, dispatch: int, worker: str) -> tuple[TrainingJob | None, bool]:
    """Claim the job for this run: (job, resume) or (None, False) when there is nothing to run."""
    with transaction.atomic():
        job = TrainingJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            logger.warning("Training job %s no longer exists", job_id)
            return None, False
        if dispatch < job.dispatch or job.is_finished:
            logger.info("Skipping %s: message %s is stale or the job has finished", job.name, dispatch)
            return None, False
        resume = job.state == TrainingJob.State.RUNNING  # the previous run's worker was lost
        now = timezone.now()
        if (resume and job.heartbeat_at and now - job.heartbeat_at < heartbeat_timeout()
                and not _run_died_on_this_node(job, worker)):
            # A redelivery (Redis re-sends unacknowledged messages after its visibility timeout)
            # while the first run is still alive and reporting epochs: let that run finish.
            logger.info("Skipping %s: still running on %s (last heartbeat %s)", job.name, job.worker, job.heartbeat_at)
            return None, False
        if resume and job.cancel_requested:
            job.state, job.finished_at = TrainingJob.State.CANCELLED, now
            job.log_tail = with_log_line(job.log_tail, "cancelled (the worker was lost after the cancel request)")
            job.save()
            return None, False
        if job.attempts >= MAX_ATTEMPTS:
            job.state, job.finished_at = TrainingJob.State.FAILED, now
            job.error = f"gave up after {job.attempts} attempts: the worker was lost each time"
            job.log_tail = with_log_line(job.log_tail, job.error)
            job.save()
            return None, False
        job.attempts += 1
        job.state, job.worker, job.worker_pid, job.heartbeat_at = TrainingJob.State.RUNNING, worker, os.getpid(), now
        job.started_at = job.started_at or now
        job.log_tail = with_log_line(job.log_tail, (
            f"restarted on {worker} (attempt {job.attempts}): the previous worker was lost; resuming from "
            "the last checkpoint" if resume else f"started on {worker}"
        ))
        job.save()
    return job, resume


class Heartbeat:
    """Stamps the running job's `heartbeat_at` every `TRAINING_HEARTBEAT_SECONDS` from a thread,
    so that a lost worker is noticed within `TRAINING_HEARTBEAT_TIMEOUT` however long an epoch takes."""

    def __init__(self, job_id: int, attempt: int) -> None:
        self.job_id, self.attempt = job_id, attempt
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.stamp_until_stopped, name=f"heartbeat-job-{job_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopped.set()
        self.thread.join()

    def stamp_until_stopped(self) -> None:
        try:
            while not self.stopped.wait(settings.TRAINING_HEARTBEAT_SECONDS):
                try:
                    TrainingJob.objects.filter(  # only while this run owns the job (not taken over)
                        pk=self.job_id, state=TrainingJob.State.RUNNING, worker_pid=os.getpid(), attempts=self.attempt
                    ).update(heartbeat_at=timezone.now())
                except DatabaseError as error:
                    logger.warning("heartbeat of training job %s failed: %s", self.job_id, error)
                    connections.close_all()  # this thread's; the next beat opens a new one
        finally:
            connections.close_all()


def run_job(job_id: int, *, dispatch: int, worker: str = "") -> TrainingJob | None:
    """Run a queued job to SUCCEEDED, FAILED or CANCELLED; never raises for a failure of the job itself."""
    from training.core.trainer import TrainingCancelled

    job, resume = claim_job(job_id, dispatch, worker)
    if job is None:
        return None
    attempt = job.attempts
    try:
        try:
            with Heartbeat(job.pk, attempt):
                if job.kind == TrainingJob.Kind.RETRAIN:
                    return _run_retrain(job, attempt=attempt, resume=resume)
                return _run_evaluate(job, attempt=attempt)
        except TrainingCancelled:
            return finish_job(job.pk, TrainingJob.State.CANCELLED, line="cancelled", attempt=attempt)
        except AttemptSuperseded:
            raise
        except Exception as exc:  # the job failed, not the worker: record why and leave the registry alone
            logger.exception("Training job %s failed", job.name)
            return finish_job(job.pk, TrainingJob.State.FAILED, error=job_error_message(exc), attempt=attempt)
    except AttemptSuperseded as superseded:  # another worker owns the job now: leave its row alone
        logger.warning("Training job %s: %s; this worker stops without writing", job.name, superseded)
        return None


def job_error_message(exc: Exception) -> str:
    """What the job's row says about the exception that ended it."""
    from training.core.data import DataFormatError

    if isinstance(exc, DataFormatError | ValidationError | FileNotFoundError | ValueError):
        return "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
    return f"{type(exc).__name__}: {exc}"


def epoch_progress_reporter(job_id: int, *, attempt: int | None = None) -> Callable:
    """Write each finished epoch to the job row; raise TrainingCancelled when a cancel was requested,
    and `AttemptSuperseded` when the job is no longer `attempt`'s (the training then stops)."""
    from training.core.trainer import EpochReport, TrainingCancelled

    def on_epoch(report: EpochReport) -> None:
        job = update_job(
            job_id,
            attempt=attempt,
            current_epoch=report.epoch,
            progress=min(95, round(95 * report.epoch / max(report.epochs, 1))),
            line=(f"epoch {report.epoch}/{report.epochs}: loss {report.loss:.4f} acc {report.accuracy:.4f} "
                  f"val_loss {report.val_loss:.4f} val_acc {report.val_accuracy:.4f} ({report.seconds:.0f}s)"),
        )
        if job.cancel_requested:
            raise TrainingCancelled(f"cancel requested after epoch {report.epoch}")

    return on_epoch


def _run_retrain(job: TrainingJob, *, attempt: int, resume: bool) -> TrainingJob:
    from training.core.trainer import TrainConfig, train

    parameters = dict(job.parameters)
    options = {key: parameters[key] for key in TRAIN_OPTIONS if key in parameters}
    config = TrainConfig(
        data=parameters["data"], out=job.output_dir, architecture=parameters["architecture"],
        epochs=int(parameters["epochs"]), init_from=parameters.get("init_from"),
        soft_labels=parameters.get("soft_labels"), command=f"training job {job.name}", **options,
    )
    train(config, resume=resume, on_epoch=epoch_progress_reporter(job.pk, attempt=attempt), verbose=0)
    update_job(job.pk, attempt=attempt, line="training finished; registering the new version")  # still ours?
    version = register_model_version(name=job.name, artifact_dir=job.output_dir)
    accuracy = f" (accuracy {version.accuracy:.4f})" if version.accuracy else ""
    return finish_job(job.pk, TrainingJob.State.SUCCEEDED, progress=100, result_version=version,
                      metrics=version.metrics, line=f"registered version {version.name}{accuracy}", attempt=attempt)


def _run_evaluate(job: TrainingJob, *, attempt: int) -> TrainingJob:
    from training.core.data import load_dataset
    from training.core.evaluate import evaluate_split, write_evaluation

    version = job.source_version
    if version is None:
        raise ValueError("the version to evaluate has been deleted")
    parameters = job.parameters
    dataset = load_dataset(parameters["data"])
    update_job(job.pk, progress=20, line=f"loaded {len(dataset)} images from {parameters['data']}", attempt=attempt)
    metrics = evaluate_split(version.artifact_dir, dataset, parameters.get("split"), data_path=parameters["data"],
                             tta=bool(parameters.get("tta")))
    out = Path(job.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_evaluation(version.artifact_dir, metrics, json_path=out / METRICS_FILE, command=f"training job {job.name}")
    if TrainingJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
        return finish_job(job.pk, TrainingJob.State.CANCELLED, line="cancelled (the evaluation had finished)",
                          attempt=attempt)
    split = metrics.get("split") or "all rows"
    return finish_job(job.pk, TrainingJob.State.SUCCEEDED, progress=100, metrics=metrics,
                      line=f"{version.name} on {split}: accuracy {metrics['accuracy']:.4f}", attempt=attempt)
