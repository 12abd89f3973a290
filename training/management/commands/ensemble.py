import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from training.core.data import DataFormatError, FaceDataset, load_dataset
from training.core.ensemble import write_ensemble

CALIBRATION_FACES = 500


class Command(BaseCommand):
    help = ("Combine trained model directories into one model that averages their probabilities "
            "(and, with --flip, those of the mirrored face); writes an artifact directory.")

    def add_arguments(self, parser):
        parser.add_argument("members", nargs="+",
                            help="artifact directories written by `train` (or by `ensemble`: its networks join; "
                                 "DIR#N: only its N-th network)")
        parser.add_argument("--out", required=True, help="artifact directory to write (created)")
        parser.add_argument("--flip", action="store_true", help="also average over the mirror image")
        parser.add_argument("--weights", type=float, nargs="+", default=None,
                            help="one weight per network (scaled to add up to 1; default: equal)")
        parser.add_argument("--choose-weights", action="store_true",
                            help="choose the weights on PublicTest of --data: the best accuracy on a 0.1 grid")
        parser.add_argument("--int8", action="store_true",
                            help=f"quantize the .tflite export to int8, calibrated on {CALIBRATION_FACES} "
                                 "Training faces of --data")
        parser.add_argument("--data", default=str(settings.FER2013_PATH),
                            help="data set for --choose-weights and --int8 calibration")
        parser.add_argument("--seed", type=int, default=1, help="which calibration faces are drawn")

    def handle(self, *args, members: list[str], out: str, flip: bool, weights: list[float] | None,
               choose_weights: bool, int8: bool, data: str, seed: int, **options):
        try:
            dataset = load_dataset(data) if choose_weights or int8 else None
            selection = self._selection_faces(dataset, data) if choose_weights else None
            calibration = self._calibration_faces(dataset, data, seed) if int8 else None
            source = f"{CALIBRATION_FACES} Training faces of {data} drawn with seed {seed}"
            path = write_ensemble(members, out, flip=flip, weights=weights, weight_selection=selection,
                           calibration=calibration, calibration_source=source)
        except (DataFormatError, FileNotFoundError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"wrote {path}; evaluate it with `manage.py evaluate --model {path}`"))

    @staticmethod
    def _selection_faces(dataset: FaceDataset, data: str) -> tuple[np.ndarray, np.ndarray, str]:
        public = dataset.split("PublicTest")
        if len(public) == 0:
            raise ValueError(f"{data}: no PublicTest images to choose the weights on")
        return public.pixels, public.labels, f"PublicTest of {data} ({len(public)} faces), weights in steps of 0.1"

    @staticmethod
    def _calibration_faces(dataset: FaceDataset, data: str, seed: int) -> np.ndarray:
        training = dataset.split("Training")
        if len(training) == 0:
            raise ValueError(f"{data}: no Training images to calibrate the int8 export on")
        rows = np.random.default_rng(seed).permutation(len(training))[:CALIBRATION_FACES]
        return training.pixels[np.sort(rows)]
