from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from training.core.activation_maps import load_face, write_activation_maps
from training.core.data import DataFormatError


class Command(BaseCommand):
    help = "Write one PNG grid of feature maps per conv block for a face image."

    def add_arguments(self, parser):
        parser.add_argument("image", help="a face image (cropped to the face)")
        parser.add_argument("--out", required=True, help="output folder")
        parser.add_argument("--model", default=str(settings.EMOTION_MODEL_DIR), help="artifact directory")

    def handle(self, *args, image: str, out: str, model: str, **options):
        model_file = Path(model) / "model.keras"
        if not model_file.is_file():
            raise CommandError(f"{model_file}: no Keras model in this directory")
        try:
            written = write_activation_maps(model_file, load_face(image), out)
        except DataFormatError as exc:
            raise CommandError(str(exc)) from exc
        for path in written:
            self.stdout.write(str(path))
