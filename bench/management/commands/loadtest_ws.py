"""Load-test the live WebSocket with N signed-in clients streaming a face.

Users `<prefix>-1` .. `<prefix>-N` are created (or their password reset) in THIS command's
database, so point the command at the server's database (same settings and environment as the
server); each then signs in through the server's login page over HTTP, CSRF token included.
With `--no-create-users` the users must exist already with `--password` (e.g. a remote server).

    python manage.py loadtest_ws --url http://127.0.0.1:8000 --clients 10 --fps 10 --seconds 30 --json out.json
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from bench import loadtest

P95_BAR_MS = 100.0  # the production layout's goal (docs/deployment.md): p95 <= 100 ms, no errors, nothing dropped


def astronaut_frame() -> bytes:
    """A 640x480 JPEG with a real face (scikit-image's astronaut photo; needs scikit-image)."""
    from bench.frames import astronaut_bgr, encode_jpeg, place_in_frame

    return encode_jpeg(place_in_frame(astronaut_bgr(), 110, 30), quality=80)


class Command(BaseCommand):
    help = "Stream a face over /ws/live/ from N signed-in clients at F fps; report fps, latency and server memory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:8000")
        parser.add_argument("--clients", type=int, default=10)
        parser.add_argument("--fps", type=float, default=10.0, help="frames per second per client")
        parser.add_argument("--seconds", type=float, default=10.0)
        parser.add_argument("--json", type=Path, help="also write the figures to this file")
        parser.add_argument("--server-pid", type=int, help="server process for RSS (default: found by the port)")
        parser.add_argument("--image", type=Path, help="JPEG to send (default: the astronaut in a 640x480 frame)")
        parser.add_argument("--max-in-flight", type=int, default=2)
        parser.add_argument("--ramp-up", type=float, default=1.0, help="seconds over which the clients connect")
        parser.add_argument("--user-prefix", default="loadtest")
        parser.add_argument("--password", help="the users' password (default: a new random one)")
        parser.add_argument("--no-create-users", action="store_true", help="sign in existing users only")
        parser.add_argument("--p95-bar-ms", type=float, default=P95_BAR_MS,
                            help="the round trip p95 the verdict holds the run to (default: %(default)s)")

    def handle(self, *args, **options) -> None:
        if options["clients"] < 1 or options["fps"] <= 0 or options["seconds"] <= 0:
            raise CommandError("--clients, --fps and --seconds must be positive")
        if options["no_create_users"] and not options["password"]:
            raise CommandError("--no-create-users needs --password")
        frame = options["image"].read_bytes() if options["image"] else astronaut_frame()
        password = options["password"] or secrets.token_urlsafe(16)
        usernames = [f"{options['user_prefix']}-{index + 1}" for index in range(options["clients"])]
        if not options["no_create_users"]:
            self.prepare_users(usernames, password)
        config = loadtest.LoadTestConfig(
            base_url=options["url"].rstrip("/"), clients=options["clients"], fps=options["fps"],
            seconds=options["seconds"], max_in_flight=options["max_in_flight"], ramp_up=options["ramp_up"],
        )
        try:
            cookies = [loadtest.sign_in(config.base_url, username, password) for username in usernames]
        except loadtest.LoadTestError as error:
            raise CommandError(str(error)) from error
        summary = loadtest.run_load_test(config, cookies, frame, server_pid=options["server_pid"])
        bar = options["p95_bar_ms"]
        summary["p95_bar_ms"] = bar
        summary["meets_bar"] = loadtest.meets_bar(summary, bar)
        self.stdout.write(loadtest.format_report(summary))
        verdict = "meets" if summary["meets_bar"] else "misses"
        self.stdout.write(f"  {verdict} the bar: p95 <= {bar:g} ms, no errors, nothing dropped")
        if options["json"]:
            options["json"].parent.mkdir(parents=True, exist_ok=True)
            options["json"].write_text(json.dumps(summary, indent=2))

    def prepare_users(self, usernames: list[str], password: str) -> None:
        user_model = get_user_model()
        for username in usernames:
            user, _ = user_model.objects.get_or_create(username=username)
            user.set_password(password)
            user.save(update_fields=["password"])
