"""`manage.py predict IMAGE [IMAGE ...] [--json] [--model DIR]`: faces and emotions in image files."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from emotions.active_model import build_pipeline
from emotions.recognition import DEFAULT_MAX_PIXELS, InvalidImageError, RecognitionPipeline

# Photos from a camera or phone are larger than the frames of a live session.
FILE_MAX_BYTES = 50 * 1024 * 1024


@contextlib.contextmanager
def native_stdout_to_stderr() -> Iterator[None]:
    """Send whatever native libraries print on file descriptor 1 to stderr meanwhile,
    so that stdout holds only the command's own output (the JSON document)."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def predict_file(pipeline: RecognitionPipeline, path: str) -> dict[str, Any]:
    """`{"image": path, "faces": [...]}`, or `{"image": path, "error": "..."}` if it cannot be used."""
    try:
        faces = pipeline.process(Path(path).read_bytes())
    except OSError as error:
        return {"image": path, "error": f"cannot read the file: {error.strerror or error}"}
    except InvalidImageError as error:
        return {"image": path, "error": str(error)}
    return {"image": path, "faces": [face.to_dict() for face in faces]}


class Command(BaseCommand):
    help = "Find the faces in image files (JPEG or PNG) and the emotion of each."

    def add_arguments(self, parser) -> None:
        parser.add_argument("images", nargs="+", metavar="IMAGE", help="JPEG or PNG files")
        parser.add_argument("--json", action="store_true", help="print only a JSON document on stdout")
        parser.add_argument("--model", metavar="DIR", help="model artifact directory (default: the configured one)")

    def handle(self, *args, images: list[str], json: bool, model: str | None, **options) -> None:
        with native_stdout_to_stderr():
            try:
                pipeline = build_pipeline(model, max_bytes=FILE_MAX_BYTES, max_pixels=DEFAULT_MAX_PIXELS)
            except (OSError, ValueError) as error:
                raise CommandError(str(error)) from error
            results = [predict_file(pipeline, path) for path in images]
        if json:
            self.stdout.write(_to_json(results))
            return
        for result in results:
            self._write_text(result)

    def _write_text(self, result: dict[str, Any]) -> None:
        if "error" in result:
            self.stderr.write(f"{result['image']}: error: {result['error']}")
            return
        faces = result["faces"]
        self.stdout.write(f"{result['image']}: {len(faces)} face{'' if len(faces) == 1 else 's'}")
        for number, face in enumerate(faces, start=1):
            x, y, w, h = face["box"]
            emotion = face["emotion"]
            others = ", ".join(f"{name} {score:.0%}" for name, score in face["scores"].items())
            self.stdout.write(
                f"  face {number} at x={x} y={y} w={w} h={h}: {emotion} ({face['scores'][emotion]:.0%}); {others}"
            )


def _to_json(results: list[dict[str, Any]]) -> str:
    return json.dumps(results, indent=2)
