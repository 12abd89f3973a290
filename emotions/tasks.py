"""Celery tasks: thin wrappers around emotions' services."""

from __future__ import annotations

from celery import shared_task

from emotions import data_services, services, video_services


@shared_task(name="emotions.sweep_stale_sessions", ignore_result=True)
def sweep_stale_sessions() -> int:
    """Periodic (beat): end the live sessions whose connection's process died."""
    return services.sweep_stale_sessions()


@shared_task(name="emotions.delete_expired_sessions", ignore_result=True)
def delete_expired_sessions() -> int:
    """Periodic (beat): delete the sessions older than DETECTION_RETENTION_DAYS (none when it is 0)."""
    return data_services.delete_expired_sessions()


@shared_task(name="emotions.analyse_video", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def analyse_video_task(analysis_id: int) -> str:
    """Analyse one uploaded video. A worker killed mid-video leaves the message unacknowledged;
    the redelivered job starts that video again from the beginning."""
    analysis = video_services.run_video_analysis(analysis_id)
    return analysis.state if analysis is not None else "skipped"
