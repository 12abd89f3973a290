"""`manage.py bench_pipeline [--json OUT] [--frames 500] [--model DIR]`: time the recognition pipeline."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from bench.pipeline import run_benchmark
from bench.report import print_and_write
from emotions.active_model import build_pipeline

MINIMUM_FRAMES = 10


class Command(BaseCommand):
    help = "Time decode+detect+crop+classify on 640x480 frames, on a stream, and the classifier alone."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--frames", type=int, default=500, help="frames per measurement (default 500)")
        parser.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
        parser.add_argument("--model", metavar="DIR", help="model artifact directory (default: the configured one)")

    def handle(self, *args, frames: int, json: str | None, model: str | None, **options) -> None:
        if frames < MINIMUM_FRAMES:
            raise CommandError(f"--frames must be at least {MINIMUM_FRAMES}")
        try:
            pipeline = build_pipeline(model)
        except (OSError, ValueError) as error:
            raise CommandError(str(error)) from error
        figures = run_benchmark(pipeline, frames=frames, log=self.stderr.write)
        print_and_write(figures, json, self.stdout)
