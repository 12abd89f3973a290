"""How the site writes durations and offsets: a clock reading (m:ss, or h:mm:ss), never raw milliseconds."""

from __future__ import annotations


def clock(seconds: float | None) -> str:
    """`2.672` → "0:03", `75` → "1:15", `3725` → "1:02:05"; "" for None."""
    if seconds is None:
        return ""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
