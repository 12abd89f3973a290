from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from training.core.artifacts import MODEL_FILE
from training.core.data import SPLITS, DataFormatError, load_dataset
from training.core.evaluate import calibrate_model


class Command(BaseCommand):
    help = ("Fit the temperature that calibrates a model's scores on a held-out split (PublicTest) and "
            "record it in the model's config.json; `evaluate` then reports the calibration error "
            "before and after.")

    def add_arguments(self, parser):
        parser.add_argument("--data", default=str(settings.FER2013_PATH))
        parser.add_argument("--split", choices=[split for split in SPLITS if split not in ("Training", "PrivateTest")],
                            default="PublicTest", help="the split the temperature is fitted on")
        parser.add_argument("--model", default=str(settings.EMOTION_MODEL_DIR), help="artifact directory")
        parser.add_argument("--file", dest="model_file", default=MODEL_FILE,
                            help="the model file in that directory (e.g. its live variant, model_live.tflite)")

    def handle(self, *args, data: str, split: str, model: str, model_file: str, **options):
        try:
            dataset = load_dataset(Path(data))
            calibration = calibrate_model(model, dataset, split, data_path=data, model_file=model_file)
        except (DataFormatError, FileNotFoundError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if not calibration["adopted"]:
            self.stdout.write(f"the fitted temperature {calibration['fitted_temperature']:.4f} does not lower the "
                              "expected calibration error: scores stay as the network gives them")
        self.stdout.write(
            f"{calibration['fitted_on']}: temperature {calibration['temperature']:.4f}; "
            f"log loss {calibration['log_loss_before']:.4f} -> {calibration['log_loss_after']:.4f}, "
            f"expected calibration error {calibration['ece_before']:.4f} -> {calibration['ece_after']:.4f}")
        self.stdout.write(self.style.SUCCESS(f"recorded in {Path(model) / 'config.json'}"))
