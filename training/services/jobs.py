"""Training jobs from the web side: creating them (their requests validated against the training
options), queueing them for the workers, cancelling them, and queueing again those whose worker
was lost. What a worker does with a job is in execution.py."""

from __future__ import annotations

import logging
import re
import secrets
from functools import partial
from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from training import selectors
from training.core.labels import SPLITS
from training.core.options import JOB_OPTIONS, OptionError
from training.models import ModelVersion, TrainingJob
from training.services.job_rows import finish_job, update_job, with_log_line, worker_lost

logger = logging.getLogger(__name__)

RUN_JOB_TASK = "training.run_job"  # the Celery task that runs a job (training.tasks.run_training_job)
# The options a retrain job sets in its `options`; architecture and epochs are its own fields.
JOB_FIELDS = ("architecture", "epochs")
TRAIN_OPTIONS = {name: spec for name, spec in JOB_OPTIONS.items() if name not in JOB_FIELDS}
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


def _new_job_name(prefix: str) -> str:
    return f"{prefix}-{timezone.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def _artifacts_dir() -> Path:
    return Path(settings.TRAINING_ARTIFACTS_DIR)


def _available_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise ValidationError("name: use lower-case letters, digits, '-' and '_' (at most 100)")
    if TrainingJob.objects.filter(name=name).exists() or ModelVersion.objects.filter(name=name).exists():
        raise ValidationError(f"name: {name!r} is taken")
    if (_artifacts_dir() / name).exists():
        raise ValidationError(f"name: {_artifacts_dir() / name} exists already")
    return name


def _available_dataset(dataset: str | Path) -> Path:
    path = Path(dataset).resolve()
    if path not in selectors.available_datasets():
        raise ValidationError(f"dataset: {dataset} is not one of the data sets in TRAINING_DATA_ROOTS")
    return path


def check_training_options(options: dict[str, Any]) -> dict[str, Any]:
    """The job options (`JOB_OPTIONS`: those of `options` plus architecture and epochs) as their
    types; ValidationError for an unknown option or a value its spec refuses. None means: unset."""
    unknown = set(options) - set(JOB_OPTIONS)
    if unknown:
        raise ValidationError(f"unknown training option(s): {', '.join(sorted(unknown))}")
    try:
        return {name: JOB_OPTIONS[name].check(value) for name, value in options.items()
                if value is not None or name in JOB_FIELDS}
    except OptionError as error:
        raise ValidationError(str(error)) from None


def _soft_label_source(options: dict[str, Any]) -> dict[str, str]:
    """With a vote weight, the job trains towards settings.FERPLUS_VOTES_PATH's FER+ votes."""
    if not options.get("soft_label_weight"):
        return {}
    votes = Path(settings.FERPLUS_VOTES_PATH)
    if not votes.is_file():
        raise ValidationError(f"soft_label_weight: no FER+ votes at {votes} (settings.FERPLUS_VOTES_PATH)")
    return {"soft_labels": str(votes)}


def _member_architecture(version: ModelVersion, member: int) -> str:
    """The architecture of `version`'s `member`-th network (1 for a single network)."""
    members = version.training_config.get("members") if version.architecture == "ensemble" else None
    architectures = [entry.get("architecture", "") for entry in members] if members else [version.architecture]
    if not 1 <= member <= len(architectures):
        raise ValidationError(f"init_member: {version.name} holds {len(architectures)} network(s)")
    return architectures[member - 1]


def create_retrain_job(
    *,
    architecture: str = "",
    epochs: int,
    dataset: str | Path,
    created_by=None,
    name: str = "",
    options: dict[str, Any] | None = None,
    start_from: ModelVersion | None = None,
) -> TrainingJob:
    """Queue training a new version on one of the available data sets (sent to Celery on commit).
    With `start_from`, the job fine-tunes that version's network (option `init_member` picks one
    of an ensemble's) and keeps its architecture."""
    options = options or {}
    if set(options) & set(JOB_FIELDS):
        raise ValidationError(f"{', '.join(JOB_FIELDS)}: not options but fields of the job")
    checked = check_training_options(options)
    if start_from is not None:
        architecture = _member_architecture(start_from, checked.get("init_member", 1))
    elif "init_member" in checked:
        raise ValidationError("init_member: only for a job that starts from a version")
    fields = check_training_options({"architecture": architecture, "epochs": epochs})
    architecture, epochs = fields["architecture"], fields["epochs"]
    data = _available_dataset(dataset)
    name = _available_name(name) if name else _new_job_name(architecture)
    parameters = {"architecture": architecture, "epochs": epochs, "data": str(data), **checked,
                  **_soft_label_source(checked)}
    if start_from is not None:
        parameters |= {"start_version": start_from.name, "init_from": start_from.artifact_dir}
    job = TrainingJob.objects.create(
        name=name, kind=TrainingJob.Kind.RETRAIN, parameters=parameters, total_epochs=epochs,
        source_version=start_from,
        output_dir=str(_artifacts_dir() / name), created_by=created_by,
    )
    enqueue_job(job)
    job.refresh_from_db()  # FAILED already if the queue could not be reached (see queue_was_down)
    return job


def create_evaluate_job(
    *, version: ModelVersion, dataset: str | Path, split: str = "PrivateTest", created_by=None, tta: bool = False
) -> TrainingJob:
    """Queue evaluating `version` on a data set split; the metrics and plots land on the job."""
    if split not in SPLITS:
        raise ValidationError(f"split: choose one of {', '.join(SPLITS)}")
    data = _available_dataset(dataset)
    name = _new_job_name(f"eval-{version.name}"[:70])
    job = TrainingJob.objects.create(
        name=name, kind=TrainingJob.Kind.EVALUATE, source_version=version, created_by=created_by,
        parameters={"data": str(data), "split": split, "tta": bool(tta)}, output_dir=str(_artifacts_dir() / name),
    )
    enqueue_job(job)
    job.refresh_from_db()
    return job


def enqueue_job(job: TrainingJob) -> None:
    """Number this dispatch and send the job to the workers once the transaction commits."""
    TrainingJob.objects.filter(pk=job.pk).update(dispatch=F("dispatch") + 1)
    job.refresh_from_db(fields=["dispatch"])
    transaction.on_commit(partial(send_to_worker, job.pk, job.dispatch))


QUEUE_UNAVAILABLE = "could not reach the task queue"


def queue_was_down(job: TrainingJob) -> bool:
    """The job could not be handed to the workers (the broker is down): it is recorded as FAILED."""
    return job.state == TrainingJob.State.FAILED and job.error.startswith(QUEUE_UNAVAILABLE)


def queue_down_message(job: TrainingJob) -> str:
    """What the admin and the API tell whoever queued a job that `queue_was_down`."""
    return (f"The training queue is unavailable ({job.error}); {job.name} was recorded as failed. "
            "Try again when the queue is back.")


def send_to_worker(job_id: int, dispatch: int) -> None:
    """Publish the job's message (dispatch number `dispatch`) on `TRAINING_QUEUE`; a broker that
    cannot be reached fails the job (see `queue_was_down`)."""
    queue = settings.TRAINING_QUEUE
    try:
        # Sent by name: the task (training.tasks) calls these services, not the reverse, and a web
        # process never imports the tasks module (only workers register its tasks).
        current_app.send_task(RUN_JOB_TASK, args=(job_id, dispatch), **({"queue": queue} if queue else {}))
    except Exception as exc:
        logger.exception("Could not queue training job %s", job_id)
        finish_job(job_id, TrainingJob.State.FAILED, error=f"{QUEUE_UNAVAILABLE}: {exc}")


def cancel_job(job: TrainingJob) -> TrainingJob:
    """A queued job is cancelled at once; a running one stops after its current epoch, or at once
    if its worker is gone (no heartbeat for `TRAINING_HEARTBEAT_TIMEOUT`)."""
    with transaction.atomic():
        locked = TrainingJob.objects.select_for_update().get(pk=job.pk)
        if locked.state == TrainingJob.State.QUEUED:
            locked.state, locked.finished_at = TrainingJob.State.CANCELLED, timezone.now()
            locked.log_tail = with_log_line(locked.log_tail, "cancelled before it started")
        elif locked.state == TrainingJob.State.RUNNING and worker_lost(locked):
            locked.state, locked.finished_at = TrainingJob.State.CANCELLED, timezone.now()
            locked.cancel_requested = True
            locked.log_tail = with_log_line(locked.log_tail, f"cancelled: its worker {locked.worker} is gone")
        elif locked.state == TrainingJob.State.RUNNING:
            locked.cancel_requested = True
            locked.log_tail = with_log_line(locked.log_tail, "cancel requested: stopping after the current epoch")
        else:
            raise ValidationError(f"{locked.name} has finished ({locked.state}); there is nothing to cancel")
        locked.save()
    return locked


MAX_UNTAKEN_REQUEUES = 3  # re-queues of a lost job that no worker took before it is failed


def recover_lost_jobs() -> list[TrainingJob]:
    """Queue again the running jobs whose worker is gone (killed, its host or container replaced):
    whichever worker takes the message resumes the job from its last checkpoint, or fails it after
    `MAX_ATTEMPTS`. A cancel requested before the loss ends the job instead. Run periodically."""
    lost = [job for job in TrainingJob.objects.filter(state=TrainingJob.State.RUNNING) if worker_lost(job)]
    recovered = []
    for job in lost:
        with transaction.atomic():
            locked = TrainingJob.objects.select_for_update().get(pk=job.pk)
            if locked.state != TrainingJob.State.RUNNING or not worker_lost(locked):
                continue
            since = f"{locked.heartbeat_at:%H:%M:%S}" if locked.heartbeat_at else "its start"
            if locked.cancel_requested:
                finish_job(locked.pk, TrainingJob.State.CANCELLED,
                           line=f"cancelled: its worker {locked.worker} was lost (no heartbeat since {since})")
            elif locked.dispatch - locked.attempts >= MAX_UNTAKEN_REQUEUES:
                finish_job(locked.pk, TrainingJob.State.FAILED, error=(
                    f"its worker {locked.worker} was lost and no worker took the job after "
                    f"{MAX_UNTAKEN_REQUEUES} re-queues: are the training workers running?"))
            else:
                logger.warning("Training job %s lost its worker %s: queued again", locked.name, locked.worker)
                update_job(locked.pk, heartbeat_at=locked.heartbeat_at,
                           line=f"worker {locked.worker} lost (no heartbeat since {since}): queued again to resume")
                enqueue_job(locked)
            recovered.append(locked)
    return recovered


def recover_interrupted_jobs(worker: str) -> list[TrainingJob]:
    """Re-dispatch jobs this worker node was running when it died (it has just started, so none still run).

    With Redis, acks_late also redelivers the message after the visibility timeout; the dispatch
    number makes whichever message arrives second a no-op. kombu's filesystem transport does not
    redeliver, so this is what saves the job there.
    """
    jobs = list(TrainingJob.objects.filter(state=TrainingJob.State.RUNNING, worker=worker))
    for job in jobs:
        # No heartbeat: this worker has just started, so nothing runs the job any more.
        update_job(job.pk, line=f"{worker} restarted while running this job: queued again to resume", heartbeat_at=None)
        enqueue_job(job)
    return jobs
