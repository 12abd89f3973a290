"""Train a model and write one artifact directory.

The loop runs one epoch at a time so that everything it decides (learning-rate drops, early
stopping, the best epoch) lives in `state.json` next to a checkpoint written after every epoch;
`resume=True` picks up exactly where a stopped run left off.

Artifact directory layout::

    checkpoint/last.keras   model + optimizer after the latest epoch
    state.json              epoch, history, scheduler state (for --resume)
    model.keras             the best epoch on the validation split (or the SWA average, if better)
    model.tflite            its LiteRT export
    history.json            per-epoch loss/accuracy/learning rate
    config.json             the configuration, seed and exact command
    metrics.json            evaluation on the test split (see evaluate.py)
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from training.core.data import (
    EMOTIONS,
    HOLDOUT_FRACTION,
    FaceDataset,
    load_dataset,
    train_overlap_mask,
    with_holdout_splits,
)
from training.core.options import OPTIMIZERS, TrainConfig, check_config


@dataclass
class EpochReport:
    epoch: int
    epochs: int
    loss: float
    accuracy: float
    val_loss: float
    val_accuracy: float
    learning_rate: float
    seconds: float
    best_val_accuracy: float


@dataclass
class TrainState:
    epoch: int = 0
    history: list[dict] = field(default_factory=list)
    best_val_accuracy: float = -1.0
    best_epoch: int = 0
    plateau_wait: int = 0
    plateau_best: float = -1.0
    learning_rate: float = 0.0
    stopped_early: bool = False
    swa_epochs: int = 0  # how many epochs' weights are in the running average
    swa: dict | None = None  # the average's validation result, once computed


@dataclass
class TrainResult:
    out: Path
    state: TrainState
    metrics: dict | None


class TrainingCancelled(Exception):
    """Raised from a progress callback to stop training after the current epoch."""


def _load_state(path: Path) -> TrainState:
    return TrainState(**json.loads(path.read_text()))


def _write_json(path: Path, payload) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    tmp.replace(path)


def _make_optimizer(config: TrainConfig):
    import keras

    if config.optimizer == "adam":
        return keras.optimizers.Adam(config.learning_rate)
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(config.learning_rate, weight_decay=config.weight_decay)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(config.learning_rate, momentum=0.9, nesterov=True)
    raise ValueError(f"unknown optimizer {config.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")


def scheduled_learning_rate(config: TrainConfig, epoch: int) -> float:
    """The cosine (or constant) schedule's rate for the 0-based `epoch`."""
    if epoch < config.warmup_epochs:
        return config.learning_rate * (epoch + 1) / (config.warmup_epochs + 1)
    if config.schedule == "constant":
        return config.learning_rate
    span = max(config.epochs - config.warmup_epochs, 1)
    progress = min((epoch - config.warmup_epochs) / span, 1.0)
    floor = config.min_learning_rate
    return floor + (config.learning_rate - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def _balanced_class_weights(labels: np.ndarray) -> dict[int, float]:
    from sklearn.utils.class_weight import compute_class_weight

    present = np.unique(labels)
    weights = compute_class_weight("balanced", classes=present, y=labels)
    return {int(c): float(w) for c, w in zip(present, weights, strict=True)}


def _dataset(data: FaceDataset, batch_size: int, *, shuffle: bool, augmenter=None, seed: int = 0,
             targets: np.ndarray | None = None):
    import keras
    import tensorflow as tf

    pixels = data.pixels.astype(np.float32)[..., None]
    if targets is None:
        targets = keras.utils.to_categorical(data.labels, len(EMOTIONS)).astype(np.float32)
    ds = tf.data.Dataset.from_tensor_slices((pixels, targets))
    if shuffle:
        ds = ds.shuffle(len(data), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augmenter is not None:
        ds = ds.map(lambda x, y: (augmenter(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def training_stream(data: FaceDataset, config: TrainConfig, *, first_epoch: int = 0):
    """Shuffled, augmented training batches. The shuffle order and the augmentation draws follow
    from the seed, so a resumed run seeds them with the epoch it starts at: with the run's own seed
    it would replay exactly the images, in the same order, that the run saw from its first epoch."""
    from training.core.augment import build_augmenter
    from training.core.ferplus import load_votes, soft_targets

    seed = config.seed + 1000 * first_epoch
    augmenter = build_augmenter(seed) if config.augment else None
    targets = None
    if config.soft_labels:
        targets = soft_targets(data, load_votes(config.soft_labels), config.soft_label_weight)
    return _dataset(data, config.batch_size, shuffle=True, augmenter=augmenter, seed=seed, targets=targets)


def _save_config(out: Path, config: TrainConfig, *, resumed: bool, earlier_commands: list[str]) -> None:
    """Record the configuration; a resumed run keeps the commands of the runs before it, and a
    fine-tuned network the commands that trained the network it started from."""
    path = out / "config.json"
    commands = [*earlier_commands, config.command]
    if resumed and path.is_file():
        previous = json.loads(path.read_text())
        commands = [*previous.get("commands", [previous.get("command", "")]), config.command]
    _write_json(path, {**asdict(config), "labels": list(EMOTIONS), "commands": commands})
    (out / "command.txt").write_text("\n".join(commands) + "\n")


@dataclass
class InitialNetwork:
    model: object  # keras.Model, built fresh by architecture name and given the source's weights
    architecture: str
    commands: list[str]  # the commands that trained the source network


def initial_network(config: TrainConfig) -> InitialNetwork:
    """The network named by `config.init_from` / `init_member`, rebuilt under its own
    architecture's name (so the result is a plain network, not an ensemble's wrapped member)."""
    from training.core import architectures
    from training.core.ensemble import load_member

    source = load_member(config.init_from, config.init_member)
    architecture = source.config.get("architecture") or ""
    if architecture not in architectures.ARCHITECTURES:
        raise ValueError(f"{config.init_from}: member {config.init_member} has no known architecture "
                         f"({architecture!r}) in its config.json")
    model = architectures.build(architecture)
    try:
        model.set_weights(source.model.get_weights())
    except ValueError as exc:
        raise ValueError(f"{config.init_from}: member {config.init_member}'s weights do not fit "
                         f"the {architecture} architecture: {exc}") from exc
    commands = source.config.get("commands") or [source.config.get("command", "")]
    return InitialNetwork(model, architecture, [command for command in commands if command])


def recompute_batch_norm(model, data: FaceDataset, batch_size: int = 256) -> None:
    """Set every batch-norm layer's moving mean and variance to their average over `data`'s
    batches. Averaged weights do not fit averaged statistics, so SWA needs this pass."""
    import keras

    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    pixels = data.pixels.astype(np.float32)[..., None]
    try:
        for index, start in enumerate(range(0, len(pixels), batch_size)):
            for layer in norms:
                # moving = moving * m + batch * (1 - m) with m = k / (k + 1) is the running mean.
                layer.momentum = index / (index + 1)
            model(pixels[start:start + batch_size], training=True)
    finally:
        for layer, momentum in zip(norms, momenta, strict=True):
            layer.momentum = momentum


def _swa_path(out: Path) -> Path:
    return out / "checkpoint" / "swa.npz"


def _load_average(out: Path, state: TrainState) -> list[np.ndarray] | None:
    if state.swa_epochs == 0 or not _swa_path(out).is_file():
        return None
    with np.load(_swa_path(out)) as stored:
        return [stored[f"w{index}"] for index in range(len(stored.files))]


def _save_average(out: Path, average: list[np.ndarray]) -> None:
    tmp = _swa_path(out).with_name("swa.tmp.npz")
    np.savez(tmp, **{f"w{index}": weights for index, weights in enumerate(average)})
    tmp.replace(_swa_path(out))


def _apply_average(model, average: list[np.ndarray], train_data: FaceDataset, val_ds, state: TrainState,
                   out: Path) -> None:
    """Evaluate the averaged weights (with fresh batch-norm statistics); keep them as model.keras
    when they beat the model kept so far (the best epoch, or an earlier average) on validation."""
    model.set_weights(average)
    recompute_batch_norm(model, train_data)
    val_loss, val_accuracy = model.evaluate(val_ds, verbose=0)
    best_so_far = state.best_val_accuracy
    chosen = val_accuracy > best_so_far
    state.swa = {"epochs_averaged": state.swa_epochs, "val_loss": float(val_loss),
                 "val_accuracy": float(val_accuracy), "chosen": bool(chosen)}
    if chosen:
        state.best_val_accuracy = float(val_accuracy)
        model.save(out / "model.keras")
    print(f"weight average of {state.swa_epochs} epochs: val_acc {val_accuracy:.4f} "
          f"({'chosen' if chosen else f'not better than the kept model, {best_so_far:.4f}'})", flush=True)


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    on_epoch: Callable[[EpochReport], None] | None = None,
    verbose: int = 1,
    evaluate_at_end: bool = True,
) -> TrainResult:
    """Train per `config`; write artifacts into `config.out`; return the final state."""
    import keras

    from training.core import architectures
    from training.core.evaluate import evaluate_model, write_evaluation
    from training.core.export import export_tflite

    check_config(config)
    out = Path(config.out)
    checkpoint = out / "checkpoint" / "last.keras"
    state_path = out / "state.json"
    out.mkdir(parents=True, exist_ok=True)
    checkpoint.parent.mkdir(exist_ok=True)

    keras.utils.set_random_seed(config.seed)
    dataset, held_out = with_holdout_splits(load_dataset(config.data), config.seed)
    train_data = dataset.split(config.train_split)
    if config.limit:
        rng = np.random.default_rng(config.seed)
        train_data = train_data.subset(rng.permutation(len(train_data))[: config.limit])
    val_data = dataset.split(config.val_split)
    if config.limit:
        val_data = val_data.subset(np.arange(min(len(val_data), max(config.limit // 4, 1))))
    if len(train_data) == 0 or len(val_data) == 0:
        raise ValueError(f"{config.data}: the {config.train_split} or {config.val_split} split is empty")

    resuming = resume and checkpoint.exists() and state_path.exists()
    source = initial_network(config) if config.init_from and not resuming else None
    if source is not None:
        config = replace(config, architecture=source.architecture)
    elif config.init_from:  # resuming a fine-tuning run: the network is the one it started from
        config = replace(config, architecture=json.loads((out / "config.json").read_text())["architecture"])
    if resuming:
        model = keras.models.load_model(checkpoint, compile=True)
        state = _load_state(state_path)
        model.optimizer.learning_rate.assign(state.learning_rate)
        print(f"resuming after epoch {state.epoch} (best val accuracy {state.best_val_accuracy:.4f})", flush=True)
    else:
        model = source.model if source is not None else architectures.build(config.architecture)
        model.compile(
            optimizer=_make_optimizer(config),
            loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
            metrics=["accuracy"],
            jit_compile=config.jit_compile,
        )
        state = TrainState(learning_rate=config.learning_rate)
    _save_config(out, config, resumed=state.epoch > 0, earlier_commands=source.commands if source else [])
    average = _load_average(out, state)

    train_ds = training_stream(train_data, config, first_epoch=state.epoch)
    val_ds = _dataset(val_data, 256, shuffle=False)
    class_weight = _balanced_class_weights(train_data.labels) if config.class_weights else None

    while state.epoch < config.epochs and not state.stopped_early:
        started = time.monotonic()
        if config.schedule in ("cosine", "constant"):
            model.optimizer.learning_rate.assign(scheduled_learning_rate(config, state.epoch))
        fit = model.fit(
            train_ds,
            initial_epoch=state.epoch,
            epochs=state.epoch + 1,
            class_weight=class_weight,
            verbose=verbose,
        )
        val_loss, val_accuracy = model.evaluate(val_ds, verbose=0)
        state.epoch += 1
        learning_rate = float(model.optimizer.learning_rate.numpy())
        record = {
            "epoch": state.epoch,
            "loss": float(fit.history["loss"][-1]),
            "accuracy": float(fit.history["accuracy"][-1]),
            "val_loss": float(val_loss),
            "val_accuracy": float(val_accuracy),
            "learning_rate": learning_rate,
            "seconds": round(time.monotonic() - started, 1),
        }
        state.history.append(record)

        if val_accuracy > state.best_val_accuracy:
            state.best_val_accuracy = float(val_accuracy)
            state.best_epoch = state.epoch
            model.save(out / "model.keras")
        # ReduceLROnPlateau on validation accuracy.
        if val_accuracy > state.plateau_best + 1e-4:
            state.plateau_best = float(val_accuracy)
            state.plateau_wait = 0
        elif config.schedule == "plateau":
            state.plateau_wait += 1
            if state.plateau_wait >= config.plateau_patience:
                learning_rate = max(learning_rate * config.plateau_factor, config.min_learning_rate)
                model.optimizer.learning_rate.assign(learning_rate)
                state.plateau_wait = 0
        state.learning_rate = learning_rate
        if state.epoch - state.best_epoch >= config.early_stopping_patience:
            state.stopped_early = True

        if config.swa_start is not None and state.epoch > config.swa_start:
            weights = model.get_weights()
            state.swa_epochs += 1
            average = weights if average is None else [
                mean + (new - mean) / state.swa_epochs for mean, new in zip(average, weights, strict=True)]
            _save_average(out, average)
            state.swa = None  # a resumed run that adds epochs evaluates its new average again
        model.save(checkpoint)
        _write_json(state_path, asdict(state))
        _write_json(out / "history.json", state.history)
        print(
            f"epoch {state.epoch}/{config.epochs} loss {record['loss']:.4f} acc {record['accuracy']:.4f} "
            f"val_loss {record['val_loss']:.4f} val_acc {record['val_accuracy']:.4f} lr {learning_rate:.2e} "
            f"({record['seconds']:.0f}s)",
            flush=True,
        )
        if on_epoch is not None:
            on_epoch(EpochReport(state.epoch, config.epochs, record["loss"], record["accuracy"],
                                 record["val_loss"], record["val_accuracy"], learning_rate,
                                 record["seconds"], state.best_val_accuracy))

    if average is not None and state.swa is None:
        _apply_average(model, average, train_data, val_ds, state, out)
        _write_json(state_path, asdict(state))
    best = keras.models.load_model(out / "model.keras", compile=False)
    export_tflite(best, out / "model.tflite")
    metrics = None
    if evaluate_at_end:
        test_data = dataset.split(config.test_split)
        if config.limit:
            test_data = test_data.subset(np.arange(min(len(test_data), max(config.limit // 4, 1))))
        # As `evaluate` does: also report accuracy without the test images that occur in Training.
        overlap = train_overlap_mask(dataset, config.test_split)[: len(test_data)]
        metrics = evaluate_model(out, test_data, split=config.test_split, data_path=config.data, overlap=overlap)
        if state.swa is not None:
            metrics["swa"] = state.swa
        if config.test_split in held_out:
            metrics["held_out"] = (f"{config.test_split}: {HOLDOUT_FRACTION:.0%} of each class of "
                                   f"{config.train_split}, drawn with seed {config.seed}")
        write_evaluation(out, metrics, history=state.history)
    return TrainResult(out, state, metrics)

