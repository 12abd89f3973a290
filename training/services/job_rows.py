"""Writes to one training job's row, which is its progress report: log lines stamped with the time,
field updates (each a heartbeat), the end of the job; and whether its worker is lost. Shared by
the job services (jobs.py) and the worker's side (execution.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from training.models import TrainingJob

LOG_TAIL_LINES = 40


def with_log_line(log: str, line: str) -> str:
    """`log` with `line` appended, stamped with the time; the last `LOG_TAIL_LINES` lines."""
    stamped = f"[{timezone.now():%H:%M:%S}] {line}"
    return "\n".join([*log.splitlines(), stamped][-LOG_TAIL_LINES:])


class AttemptSuperseded(Exception):
    """The job is no longer this attempt's: another worker took it over after this one was thought
    lost, or it was ended meanwhile (cancelled, failed). The attempt must stop without writing."""


def update_job(job_id: int, *, line: str = "", attempt: int | None = None, **fields: Any) -> TrainingJob:
    """Set `fields` on the job (and its heartbeat, unless given), append `line` to its log.

    With `attempt` (a worker writing about the run it claimed), the write happens only while the job
    is still RUNNING on that attempt; otherwise `AttemptSuperseded` is raised and nothing is written.
    """
    with transaction.atomic():
        job = TrainingJob.objects.select_for_update().get(pk=job_id)
        if attempt is not None and (job.attempts != attempt or job.state != TrainingJob.State.RUNNING):
            raise AttemptSuperseded(f"job {job.name} is {job.state.lower()} on attempt {job.attempts}, "
                                    f"no longer attempt {attempt}'s")
        fields.setdefault("heartbeat_at", timezone.now())
        for key, value in fields.items():
            setattr(job, key, value)
        if line:
            job.log_tail = with_log_line(job.log_tail, line)
        job.save()
    return job


def finish_job(job_id: int, state: str, *, error: str = "", line: str = "", **fields: Any) -> TrainingJob:
    """End the job in `state` (SUCCEEDED, FAILED with `error`, CANCELLED)."""
    return update_job(job_id, state=state, error=error, finished_at=timezone.now(),
                   line=line or (f"failed: {error}" if error else state.lower()), **fields)


def heartbeat_timeout() -> timedelta:
    return timedelta(seconds=settings.TRAINING_HEARTBEAT_TIMEOUT)


def worker_lost(job: TrainingJob) -> bool:
    """No heartbeat from the job's worker for `TRAINING_HEARTBEAT_TIMEOUT`: it is gone."""
    last_sign = job.heartbeat_at or job.started_at or job.created_at
    return timezone.now() - last_sign >= heartbeat_timeout()
