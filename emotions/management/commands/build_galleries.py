from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from emotions.galleries import FACES_PER_EMOTION, build_galleries
from training.core.data import DataFormatError, load_dataset


class Command(BaseCommand):
    help = "Write sample faces per emotion from FER-2013 Training into the media folder."

    def add_arguments(self, parser):
        parser.add_argument("--data", default=str(settings.FER2013_PATH), help="FER-2013 .npz, .csv or image folder")
        parser.add_argument("--per-emotion", type=int, default=FACES_PER_EMOTION)

    def handle(self, *args, data: str, per_emotion: int, **options):
        try:
            dataset = load_dataset(Path(data)).split("Training")
        except DataFormatError as exc:
            raise CommandError(str(exc)) from exc
        written = build_galleries(dataset.pixels, dataset.labels, settings.MEDIA_ROOT, per_emotion=per_emotion)
        for emotion, count in written.items():
            self.stdout.write(f"{emotion}: {count} faces")
