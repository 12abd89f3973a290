"""Run the production layout on one machine: nginx in front of several ASGI processes, a Celery
worker for training and one for housekeeping (with beat), on PostgreSQL and Redis.

    DATABASE_URL=postgres://... REDIS_URL=redis://... python deploy/run_prod.py   (or: make prod)

Environment: PORT (nginx, default 8080), HOST (default 127.0.0.1), WEB_WORKERS (ASGI processes,
default 2, on ports PORT+1...), TRAINING_QUEUE (default "training"), TRAINING_NICE (default 19, and SCHED_IDLE),
TRAINING_THREADS (default 1), and every setting of fer_site/settings.py. Each process's output goes to
VAR_DIR/prod/<name>.log; VAR_DIR/prod/processes.json lists them. A process that exits is started
again; Ctrl-C (or SIGTERM) stops everything this started.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import string
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
MULTIPART_OVERHEAD = 64 * 1024  # bytes of form fields and boundaries around an uploaded file
RESTART_DELAY = 1.0  # seconds before a process that exited is started again, doubling up to...
RESTART_DELAY_MAX = 30.0  # ...this, for a process that keeps exiting (a port taken, say)
STEADY_SECONDS = 60.0  # a process that ran this long starts again after RESTART_DELAY
STOP_TIMEOUT = 20.0  # seconds a process gets to stop after SIGTERM before SIGKILL

logger = logging.getLogger("run_prod")


class LayoutError(RuntimeError):
    """The layout cannot start; the message says what to do."""


@dataclass
class Child:
    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    port: int | None = None
    process: subprocess.Popen | None = None
    restarts: int = 0
    started: float = field(default=0.0)
    delay: float = RESTART_DELAY

    def stop_group(self, sig: int) -> None:
        """Signal the child's whole process group (its own workers: nginx's, Celery beat)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, sig)

    def start(self) -> None:
        with self.log.open("a") as output:
            self.process = subprocess.Popen(self.command, cwd=BASE_DIR, env=self.env, stdout=output,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self.started = time.monotonic()
        logger.info("started %s (pid %s)%s", self.name, self.process.pid, f" on port {self.port}" if self.port else "")


def require_environment(env: dict[str, str]) -> None:
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not env.get(name)]
    if missing:
        raise LayoutError(
            f"{' and '.join(missing)} must be set: the production layout runs on PostgreSQL and Redis, e.g.\n"
            "  DATABASE_URL=postgres://user@127.0.0.1:5432/moodlens REDIS_URL=redis://127.0.0.1:6379/0 make prod"
        )
    if not env["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        raise LayoutError("DATABASE_URL must name a PostgreSQL database (postgres://...)")


def find_nginx() -> str:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and Path(candidate).is_file():
            return candidate
    raise LayoutError("nginx is not installed: install Debian's package (apt-get install nginx)")


# How nginx passes plain HTTP to the ASGI processes (every location but /ws/ and /static/).
HTTP_PROXY = """\
            proxy_pass http://moodlens_asgi;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;  # with its port: Django's CSRF check compares it with Origin
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $forwarded_proto;
            proxy_connect_timeout 5s;
            proxy_read_timeout 120s;
            # A process that died or is restarting: try the next one (idempotent requests only).
            proxy_next_upstream error timeout http_502 http_503;"""


def upload_locations() -> str:
    """Locations whose uploads may be larger than the default body limit: the video uploads."""
    from django.conf import settings
    from django.urls import reverse

    limit = settings.VIDEO_MAX_BYTES + MULTIPART_OVERHEAD
    return "".join(
        f"\n        location = {path} {{\n            client_max_body_size {limit};\n{HTTP_PROXY}\n        }}\n"
        for path in (reverse("videos"), reverse("api-videos"))
    )


def render_nginx_conf(*, prefix: Path, listen: str, upstream_ports: list[int]) -> str:
    """nginx.conf from the template and the Django settings (body limits, static files)."""
    import django
    from django.conf import settings

    django.setup()
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    servers = "\n".join(f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in upstream_ports)
    mime_types = "/etc/nginx/mime.types" if Path("/etc/nginx/mime.types").is_file() else "mime.types"
    return string.Template(TEMPLATE.read_text()).substitute(
        generated_note="Generated: edit deploy/nginx.conf.template, not this file.",
        prefix=prefix, listen=listen, upstream_servers=servers, mime_types=mime_types,
        http_proxy=HTTP_PROXY, upload_locations=upload_locations(),
        max_body_bytes=settings.PREDICT_MAX_BYTES + MULTIPART_OVERHEAD,
        static_root=Path(settings.STATIC_ROOT).resolve(),
        user_directive="user root;" if os.geteuid() == 0 else "",
    )


def idle_priority() -> list[str]:
    """`chrt --idle 0` when util-linux's chrt is there: the lowest CPU priority Linux has."""
    chrt = shutil.which("chrt")
    return [chrt, "--idle", "0"] if chrt else []


def run_management(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


class Layout:
    def __init__(self, env: dict[str, str]) -> None:
        require_environment(env)
        self.env = {**env, "DJANGO_SETTINGS_MODULE": "fer_site.settings"}
        self.env.setdefault("TRAINING_QUEUE", "training")
        self.env.setdefault("DEBUG", "false")
        os.environ.update(self.env)  # the settings rendered into nginx.conf are the children's
        self.host = self.env.get("HOST", "127.0.0.1")
        self.port = int(self.env.get("PORT", "8080"))
        self.web_workers = int(self.env.get("WEB_WORKERS", "2"))
        if self.web_workers < 1:
            raise LayoutError("WEB_WORKERS must be at least 1")
        self.nginx = find_nginx()
        self.state_dir = Path(self.env.get("VAR_DIR", BASE_DIR / "var")) / "prod"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.children: list[Child] = []
        self.stopping = False

    def child(self, name: str, command: list[str], *, port: int | None = None, **extra_env: str) -> Child:
        return Child(name, command, {**self.env, **extra_env}, self.state_dir / f"{name}.log", port=port)

    def plan(self) -> None:
        python = sys.executable
        asgi_ports = [self.port + 1 + index for index in range(self.web_workers)]
        for index, port in enumerate(asgi_ports, start=1):
            self.children.append(self.child(
                f"asgi-{index}", [python, "-m", "fer_site.asgi_server", "--host", "127.0.0.1", "--port", str(port)],
                port=port,
            ))
        threads = self.env.get("TRAINING_THREADS", "1")
        self.children.append(self.child(
            "worker-training",
            # SCHED_IDLE (chrt --idle) on top of nice: the worker only gets CPU the web processes leave.
            [*idle_priority(), "nice", "-n", self.env.get("TRAINING_NICE", "19"), python, "-m", "celery", "-A",
             "fer_site", "worker",
             "-Q", self.env["TRAINING_QUEUE"], "-n", "training@%h", "--pool=solo", "--concurrency=1",
             "--loglevel=INFO"],
            TRAINING_THREADS=threads, OMP_NUM_THREADS=threads,
        ))
        self.children.append(self.child(
            "worker-housekeeping",
            [python, "-m", "celery", "-A", "fer_site", "worker", "-B", "-Q", "celery", "-n", "housekeeping@%h",
             "--pool=solo", "--concurrency=1", "--loglevel=INFO"],
        ))
        prefix = self.state_dir / "nginx"
        prefix.mkdir(exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(render_nginx_conf(prefix=prefix, listen=f"{self.host}:{self.port}", upstream_ports=asgi_ports))
        subprocess.run([self.nginx, "-t", "-q", "-c", str(conf), "-p", str(prefix)], check=True)
        self.children.append(self.child("nginx", [self.nginx, "-c", str(conf), "-p", str(prefix),
                                                  "-g", "daemon off;"]))

    def write_state(self) -> None:
        state = {
            "url": f"http://{self.host}:{self.port}",
            "processes": [{"name": c.name, "pid": c.process.pid if c.process else None, "port": c.port,
                           "restarts": c.restarts, "log": str(c.log)} for c in self.children],
        }
        path = self.state_dir / "processes.json"
        path.with_suffix(".tmp").write_text(json.dumps(state, indent=2))
        path.with_suffix(".tmp").replace(path)

    def start(self) -> None:
        logger.info("migrating and collecting static files")
        run_management(self.env, "migrate", "--noinput")
        run_management(self.env, "collectstatic", "--noinput", "--verbosity", "0")
        self.plan()
        for child in self.children:
            child.start()
        self.write_state()
        logger.info("Moodlens (production layout) is running: http://%s:%s/  (Ctrl-C stops it)", self.host, self.port)

    def supervise(self) -> None:
        while not self.stopping:
            for child in self.children:
                if self.stopping or child.process is None or child.process.poll() is None:
                    continue
                ran = time.monotonic() - child.started
                child.delay = RESTART_DELAY if ran > STEADY_SECONDS else min(child.delay * 2, RESTART_DELAY_MAX)
                logger.error("%s exited with %s after %.0f s; starting it again in %.0f s (see %s)", child.name,
                             child.process.returncode, ran, child.delay, child.log)
                child.stop_group(signal.SIGKILL)  # what it left behind in its group
                deadline = time.monotonic() + child.delay
                while not self.stopping and time.monotonic() < deadline:
                    time.sleep(0.1)
                if not self.stopping:
                    child.restarts += 1
                    child.start()
                    self.write_state()
            time.sleep(0.2)

    def stop(self, *_: object) -> None:
        self.stopping = True

    def shutdown(self) -> None:
        started = [c for c in self.children if c.process is not None]
        for child in started:  # every group, also those whose leader has exited already
            child.stop_group(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in started:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop in time: killed", child.name)
            child.stop_group(signal.SIGKILL)
            child.process.wait()
        logger.info("stopped")


def print_nginx_conf(argv: list[str]) -> int:
    """`run_prod.py --nginx-conf PORT [ASGI_PORT ...]`: the config for a server's own nginx."""
    if len(argv) < 2 or not all(arg.isdigit() for arg in argv):
        print("usage: run_prod.py --nginx-conf LISTEN_PORT ASGI_PORT [ASGI_PORT ...]", file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fer_site.settings")
    prefix = Path(os.environ.get("VAR_DIR", BASE_DIR / "var")) / "prod" / "nginx"
    print(render_nginx_conf(prefix=prefix, listen=argv[0], upstream_ports=[int(port) for port in argv[1:]]))
    return 0


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s run_prod %(levelname)s %(message)s")
    sys.path.insert(0, str(BASE_DIR))
    if sys.argv[1:2] == ["--nginx-conf"]:
        return print_nginx_conf(sys.argv[2:])
    try:
        layout = Layout(dict(os.environ))
    except LayoutError as error:
        print(f"make prod: {error}", file=sys.stderr)
        return 2
    for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the terminal closed
        signal.signal(stop_signal, layout.stop)
    try:
        layout.start()
        layout.supervise()
    except (subprocess.CalledProcessError, LayoutError) as error:
        print(f"make prod: {error}", file=sys.stderr)
        return 1
    finally:
        layout.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
