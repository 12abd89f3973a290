"""End live sessions that no connection has written to for a while (their server process died)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from emotions import services


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stale-seconds", type=int, default=settings.SESSION_STALE_SECONDS,
                            help="idle time after which a running session is ended (default: SESSION_STALE_SECONDS)")

    def handle(self, *args, stale_seconds: int, **options) -> None:
        swept = services.sweep_stale_sessions(stale_seconds=stale_seconds)
        self.stdout.write(f"ended {swept} stale session(s)")
