"""`manage.py bench_training [--images N] [--repeats R] [--json OUT]`: the trainer's epoch time under each
setting that might make CPU training faster (XLA, bfloat16 mixed precision, batch size)."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bench.report import write_figures
from bench.training_speed import SETTINGS, compare


class Command(BaseCommand):
    help = "Seconds per training epoch under XLA on/off, float32/bfloat16 and batch 64/128, on this CPU."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--data", default=str(settings.FER2013_PATH))
        parser.add_argument("--architecture", default="fernet_deep")
        parser.add_argument("--images", type=int, default=6400, help="Training faces per timed epoch")
        parser.add_argument("--repeats", type=int, default=2, help="interleaved rounds over the settings")
        parser.add_argument("--setting", action="append", dest="names", choices=[s.name for s in SETTINGS],
                            help="a setting to time (repeatable; default: all, the trainer's default first)")
        parser.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")

    def handle(self, *args, data: str, architecture: str, images: int, repeats: int, names: list[str] | None,
               json: str | None, **options) -> None:
        chosen = tuple(s for s in SETTINGS if names is None or s.name in names)
        try:
            figures = compare(data=data, architecture=architecture, images=images, repeats=repeats, settings=chosen)
        except ValueError as error:
            raise CommandError(str(error)) from error
        figures["cpu_count"] = os.cpu_count()
        for name, row in figures["settings"].items():
            self.stdout.write(f"{name}: {row['epoch_seconds_median']:.1f} s per epoch "
                              f"({row['ms_per_training_image']:.2f} ms per image, "
                              f"x{row['speed_vs_first']:.2f} the first's speed)")
        write_figures(figures, json, self.stdout)
