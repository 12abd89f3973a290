"""`manage.py bench_framing [--data NPZ] [--split PrivateTest] [--model DIR] [--json OUT]`: the whole
recognition pipeline (detect, crop, classify) on FER-2013 faces set into camera frames."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bench.framing import FACE_SIDE, run_framing
from bench.report import print_and_write
from emotions.active_model import build_pipeline
from training.core.data import SPLITS, DataFormatError, load_dataset


class Command(BaseCommand):
    help = ("Accuracy of the whole pipeline on a split's faces, each set into a 640x480 frame, against the "
            "classifier alone on the same 48x48 crops: does the pipeline frame faces as FER-2013 does?")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--data", default=str(settings.FER2013_PATH))
        parser.add_argument("--split", choices=SPLITS, default="PrivateTest")
        parser.add_argument("--model", metavar="DIR", help="model artifact directory (default: the configured one)")
        parser.add_argument("--face-side", type=int, default=FACE_SIDE, help="the face's side in the frame, px")
        parser.add_argument("--limit", type=int, help="only the first N faces of the split")
        parser.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")

    def handle(self, *args, data: str, split: str, model: str | None, face_side: int, limit: int | None,
               json: str | None, **options) -> None:
        try:
            dataset = load_dataset(Path(data))
            part = dataset.split(split) if dataset.usage is not None else dataset
            pipeline = build_pipeline(model)
        except (DataFormatError, OSError, ValueError) as error:
            raise CommandError(str(error)) from error
        pixels, labels = part.pixels[:limit], part.labels[:limit]
        figures = {"split": split, "data": data, "model": str(pipeline.classifier.model_path),
                   "face_side": face_side, **run_framing(pipeline, pixels, labels, side=face_side).as_dict()}
        print_and_write(figures, json, self.stdout)
