"""Evaluate a model directory on a labelled split: metrics as JSON, plots as PNG."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import numpy as np

from training.core.artifacts import CONFIG_FILE, MODEL_FILE, metrics_file_for
from training.core.calibration import (
    apply_temperature,
    calibration_report,
    checked_temperature,
    recorded_calibration,
)
from training.core.data import FaceDataset, train_overlap_mask
from training.core.export import predict_tflite
from training.core.labels import EMOTIONS, check_model_labels

# Ten-crop test-time augmentation, as the published FER-2013 recipes use it: the four corners and
# the centre of each face, TEN_CROP_SIDE pixels square (scaled back to the network's input), and
# their mirror images.
TEN_CROP_SIDE = 44


def ten_crop_views(pixels: np.ndarray, side: int = TEN_CROP_SIDE) -> list[np.ndarray]:
    """The ten views of (N, H, W) faces: five crops of `side` pixels resized to (H, W), and mirrored."""
    import cv2

    height, width = pixels.shape[1:3]
    if not 0 < side <= min(height, width):
        raise ValueError(f"a crop of {side} pixels does not fit {width}x{height} faces")
    last_row, last_column = height - side, width - side
    corners = [(0, 0), (0, last_column), (last_row, 0), (last_row, last_column), (last_row // 2, last_column // 2)]
    views = []
    for top, left in corners:
        crops = pixels[:, top:top + side, left:left + side]
        resized = np.stack([cv2.resize(face, (width, height), interpolation=cv2.INTER_LINEAR) for face in crops]) \
            if len(crops) else pixels[:0]
        views.extend([resized, resized[:, :, ::-1]])
    return views


def predict_probabilities(model_dir: str | Path, pixels: np.ndarray, *, tta: bool = False, ten_crop: bool = False,
                          model_file: str = MODEL_FILE) -> np.ndarray:
    """Class probabilities from the model's LiteRT export, as the network gives them (before any
    calibration); with `tta`, averaged with the mirror image; with `ten_crop`, over the ten views
    of `ten_crop_views` instead."""
    tflite = Path(model_dir) / model_file
    if not tflite.is_file():
        raise FileNotFoundError(f"{tflite}: no exported model in this directory")
    check_model_labels(model_dir)
    if tta and ten_crop:
        raise ValueError("choose flip (tta) or ten-crop test-time augmentation, not both")
    if ten_crop:
        return np.mean([predict_tflite(tflite, view) for view in ten_crop_views(pixels)], axis=0)
    probabilities = predict_tflite(tflite, pixels)
    if tta:
        probabilities = (probabilities + predict_tflite(tflite, pixels[:, :, ::-1])) / 2
    return probabilities


def compute_metrics(labels: np.ndarray, predictions: np.ndarray) -> dict:
    """Accuracy, per-class precision/recall/F1/support and the confusion matrix (rows: truth)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    classes = list(range(len(EMOTIONS)))
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predictions, labels=classes, zero_division=0
    )
    return {
        "accuracy": float(accuracy_score(labels, predictions)) if len(labels) else 0.0,
        "n": len(labels),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(EMOTIONS)
        },
        "macro_f1": float(np.mean(f1)),
        "confusion_matrix": confusion_matrix(labels, predictions, labels=classes).tolist(),
        "labels": list(EMOTIONS),
    }


def evaluate_model(
    model_dir: str | Path,
    data: FaceDataset,
    *,
    split: str | None,
    data_path: str = "",
    tta: bool = False,
    ten_crop: bool = False,
    overlap: np.ndarray | None = None,
    model_file: str = MODEL_FILE,
) -> dict:
    """Metrics of the model in `model_dir` on `data` (already cut to the split), with the
    calibration of the scores users see: expected calibration error before and after the
    temperature the model's config records.

    `overlap` marks rows whose image also occurs in Training; when given, accuracy without them
    is reported too.
    """
    raw = predict_probabilities(model_dir, data.pixels, tta=tta, ten_crop=ten_crop, model_file=model_file)
    recorded = recorded_calibration(Path(model_dir) / model_file)  # config.json read once
    temperature = checked_temperature(recorded, Path(model_dir) / model_file)
    fitted_split = recorded.get("fitted_split")
    probabilities = apply_temperature(raw, temperature)
    predictions = probabilities.argmax(axis=1)
    metrics = compute_metrics(data.labels, predictions)
    metrics.update({"split": split, "data": data_path, "tta": tta, "ten_crop": ten_crop, "model_file": model_file,
                    "calibration": {**calibration_report(raw, data.labels, temperature),
                                    "fitted_split": fitted_split}})
    if overlap is not None and overlap.any():
        keep = ~overlap
        metrics["without_train_overlap"] = {
            "accuracy": float((predictions[keep] == data.labels[keep]).mean()),
            "n": int(keep.sum()),
            "excluded": int(overlap.sum()),
        }
    return metrics


def evaluate_split(model_dir: str | Path, dataset: FaceDataset, split: str | None, *,
                   data_path: str = "", tta: bool = False, ten_crop: bool = False,
                   model_file: str = MODEL_FILE) -> dict:
    """Evaluate on one split of a full data set (all rows when it has no split column)."""
    if dataset.usage is None:
        return evaluate_model(model_dir, dataset, split=None, data_path=data_path, tta=tta, ten_crop=ten_crop,
                              model_file=model_file)
    part = dataset.split(split)
    overlap = train_overlap_mask(dataset, split) if split != "Training" else None
    return evaluate_model(model_dir, part, split=split, data_path=data_path, tta=tta, ten_crop=ten_crop,
                          overlap=overlap, model_file=model_file)


def plot_confusion_matrix(metrics: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.array(metrics["confusion_matrix"], dtype=float)
    normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(EMOTIONS)), EMOTIONS, rotation=45, ha="right")
    ax.set_yticks(range(len(EMOTIONS)), EMOTIONS)
    for (row, col), count in np.ndenumerate(matrix):
        ax.text(col, row, f"{int(count)}", ha="center", va="center",
                color="white" if normalised[row, col] > 0.5 else "black", fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{metrics.get('split') or 'all rows'}: accuracy {metrics['accuracy']:.1%} (n={metrics['n']})")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def history_figure(history: list[dict]):
    """Loss and accuracy per epoch, training and validation. With fewer than two epochs a line has
    nothing to join: each value is drawn as a marker and written beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    single = len(epochs) < 2
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, keys in ((loss_ax, ("loss", "val_loss")), (acc_ax, ("accuracy", "val_accuracy"))):
        for key, label in zip(keys, ("training", "validation"), strict=True):
            values = [row[key] for row in history]
            ax.plot(epochs, values, label=label, marker="o" if single else None)
            if single:
                for epoch, value in zip(epochs, values, strict=True):
                    ax.annotate(f"{label} {value:.3f}", (epoch, value), textcoords="offset points", xytext=(6, 4))
    loss_ax.set_title("loss")
    acc_ax.set_title("accuracy")
    for ax in (loss_ax, acc_ax):
        ax.set_xlabel("epoch")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_history(history: list[dict], path: Path) -> None:
    import matplotlib.pyplot as plt

    fig = history_figure(history)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_evaluation(model_dir: str | Path, metrics: dict, *, json_path: str | Path | None = None,
                     history: list[dict] | None = None, command: str | None = None) -> Path:
    """Write metrics JSON (default `<model_dir>/metrics.json`, or the evaluated file's own, e.g.
    metrics_live.json) and the PNG plots beside it.

    The JSON also records the evaluation command and the training configuration (with its exact
    command and seed), so every number can be traced to what produced it.
    """
    model_dir = Path(model_dir)
    metrics = {**metrics, "command": command or shlex.join(sys.argv)}
    if (model_dir / CONFIG_FILE).is_file():
        metrics["training"] = json.loads((model_dir / CONFIG_FILE).read_text())
    json_path = Path(json_path) if json_path else model_dir / metrics_file_for(metrics.get("model_file", MODEL_FILE))
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(metrics, indent=2) + "\n")
    plot_confusion_matrix(metrics, json_path.with_name(json_path.stem + "_confusion.png"))
    if history is None and (model_dir / "history.json").is_file():
        history = json.loads((model_dir / "history.json").read_text())
    if history:
        plot_history(history, json_path.with_name(json_path.stem + "_curves.png"))
    return json_path


def calibrate_model(model_dir: str | Path, dataset: FaceDataset, split: str, *, data_path: str = "",
                    model_file: str = MODEL_FILE, command: str | None = None) -> dict:
    """Fit the temperature of `model_file` on `split` and record it in the directory's `config.json`
    (calibrated scores from then on, wherever the model is loaded). Returns what was recorded."""
    from training.core.calibration import fit_temperature, write_calibration

    if split == "PrivateTest":
        raise ValueError("PrivateTest is for reporting only: fit the temperature on PublicTest")
    if split == "Training":
        raise ValueError("the network was trained on Training: fit the temperature on held-out faces (PublicTest)")
    if dataset.usage is None:
        raise ValueError(f"{data_path or 'the data set'} has no splits: a temperature must be fitted on held-out "
                         "faces (a PublicTest split), never on faces the network was trained on")
    part = dataset.split(split)
    if len(part.labels) == 0:
        raise ValueError(f"{data_path or 'the data set'} has no {split} faces to fit a temperature on")
    raw = predict_probabilities(model_dir, part.pixels, model_file=model_file)
    fitted = calibration_report(raw, part.labels, fit_temperature(raw, part.labels))
    # The fit minimises the log loss; users read confidences, so the temperature is kept only if
    # it also brings the confidences closer to the accuracy on the same split.
    adopted = fitted["ece_after"] < fitted["ece_before"]
    calibration = {
        **(fitted if adopted else calibration_report(raw, part.labels, 1.0)),
        "fitted_temperature": fitted["temperature"],
        "adopted": adopted,
        **({} if adopted else {"fitted": fitted}),  # what the refused temperature would have given
        "fitted_on": f"{split} of {data_path} ({len(part.labels)} faces)",
        "fitted_split": split,
        "rule": "the temperature minimising the log loss, kept only if it also lowers the expected "
                "calibration error on the same split (otherwise 1)",
        "command": command or shlex.join(sys.argv),
    }
    write_calibration(Path(model_dir) / model_file, calibration)
    return calibration
