from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from training.core.artifacts import MODEL_FILE
from training.core.data import SPLITS, DataFormatError, load_dataset
from training.core.evaluate import evaluate_split, write_evaluation


class Command(BaseCommand):
    help = ("Evaluate a model directory on a labelled .npz/.csv/folder split: accuracy, per-class "
            "precision/recall/F1 and the confusion matrix as JSON, plus PNG plots beside it.")

    def add_arguments(self, parser):
        parser.add_argument("--data", default=str(settings.FER2013_PATH))
        parser.add_argument("--split", choices=SPLITS, default="PrivateTest",
                            help="ignored for data without a split column: then all rows are evaluated")
        parser.add_argument("--model", default=str(settings.EMOTION_MODEL_DIR), help="artifact directory")
        parser.add_argument("--file", dest="model_file", default=MODEL_FILE,
                            help="the model file in that directory (e.g. its live variant, model_live.tflite)")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--tta", action="store_true", help="average with the horizontally mirrored face")
        mode.add_argument("--ten-crop", action="store_true",
                          help="average over ten views: the corners and centre of each face, and their mirrors")
        parser.add_argument("--json", dest="json_path", default=None,
                            help="where to write the metrics (default: <model>/metrics.json, or metrics_live.json "
                                 "for the live variant)")

    def handle(self, *args, data: str, split: str, model: str, model_file: str, tta: bool, ten_crop: bool,
               json_path: str | None, **options):
        try:
            dataset = load_dataset(Path(data))
            metrics = evaluate_split(model, dataset, split, data_path=data, tta=tta, ten_crop=ten_crop,
                                     model_file=model_file)
        except (DataFormatError, FileNotFoundError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        path = write_evaluation(model, metrics, json_path=json_path)
        line = f"{metrics['split'] or 'all rows'}: accuracy {metrics['accuracy']:.4f} (n={metrics['n']})"
        if "without_train_overlap" in metrics:
            clean = metrics["without_train_overlap"]
            line += f"; without the {clean['excluded']} images also in Training: {clean['accuracy']:.4f}"
        self.stdout.write(line)
        calibration = metrics["calibration"]
        self.stdout.write(f"  calibration: temperature {calibration['temperature']:.4f}, expected calibration error "
                          f"{calibration['ece_before']:.4f} before, {calibration['ece_after']:.4f} after")
        for name, row in metrics["per_class"].items():
            self.stdout.write(f"  {name:9s} precision {row['precision']:.3f} recall {row['recall']:.3f} "
                              f"f1 {row['f1']:.3f} (n={row['support']})")
        self.stdout.write(self.style.SUCCESS(f"wrote {path}"))
