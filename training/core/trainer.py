"""Train a model and write one artifact directory.

The loop runs one epoch at a time so that everything it decides (learning-rate drops, early
stopping, the best epoch) lives in `state.json` next to a checkpoint written after every epoch;
`resume=True` picks up exactly where a stopped run left off.

`train` is a loop over named steps: `build_or_resume` (a fresh, fine-tuned or checkpointed network
and the data streams), `train_one_epoch` (with `set_scheduled_rate`), `keep_if_best`,
`step_plateau_schedule`, `check_early_stopping`, `update_weight_average`, `save_checkpoint`, then
`finish_run` (the weight average's turn, the LiteRT export, the test split). Each epoch is logged
(logger `training.core.trainer`: the same lines in a CLI run and in a Celery worker's log) and
reported to the caller's `on_epoch` (a job writes it to its row).

Artifact directory layout::

    checkpoint/last.keras   model + optimizer after the latest epoch
    state.json              epoch, history, scheduler state (for --resume)
    model.keras             the best epoch on the validation split (or the SWA average, if better)
    model.tflite            its LiteRT export
    history.json            per-epoch loss/accuracy/learning rate
    config.json             the configuration, seed, class labels and exact command
    metrics.json            evaluation on the test split (see evaluate.py)
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from training.core.artifacts import CONFIG_FILE, MODEL_FILE, write_whole
from training.core.data import (
    EMOTIONS,
    HOLDOUT_FRACTION,
    FaceDataset,
    load_dataset,
    train_overlap_mask,
    with_holdout_splits,
)
from training.core.options import OPTIMIZERS, TrainConfig, check_config

logger = logging.getLogger(__name__)


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
    write_whole(path, lambda partial: partial.write_text(json.dumps(payload, indent=2)))


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


def _batched_dataset(data: FaceDataset, batch_size: int, *, shuffle: bool, augmenter=None, seed: int = 0,
             targets: np.ndarray | None = None, mixup_alpha: float = 0.0):
    import tensorflow as tf

    from training.core.augment import mix_up

    pixels = data.pixels.astype(np.float32)[..., None]
    if targets is None:
        targets = data.one_hot_labels()
    ds = tf.data.Dataset.from_tensor_slices((pixels, targets.astype(np.float32)))
    if shuffle:
        ds = ds.shuffle(len(data), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augmenter is not None:
        ds = ds.map(lambda x, y: (augmenter(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    if mixup_alpha > 0:
        # Each batch's draw is seeded from a stream that the run's seed fixes and that gives new
        # seeds on every pass over the data: the same run draws the same blends, each epoch others.
        batch_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip(ds, batch_seeds).map(
            lambda batch, batch_seed: mix_up(*batch, alpha=mixup_alpha, seed=batch_seed),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return ds.prefetch(tf.data.AUTOTUNE)


def training_stream(data: FaceDataset, config: TrainConfig, *, first_epoch: int = 0):
    """Shuffled, augmented training batches. The shuffle order and the augmentation draws follow
    from the seed, so a resumed run seeds them with the epoch it starts at: with the run's own seed
    it would replay exactly the images, in the same order, that the run saw from its first epoch."""
    from training.core.augment import build_augmenter

    seed = config.seed + 1000 * first_epoch
    augmenter = build_augmenter(seed) if config.augment else None
    return _batched_dataset(data, config.batch_size, shuffle=True, augmenter=augmenter, seed=seed,
                            targets=training_targets(data, config), mixup_alpha=config.mixup_alpha)


def training_targets(data: FaceDataset, config: TrainConfig) -> np.ndarray | None:
    """What each training face is trained towards: its one-hot label (None), mixed with its FER+
    vote shares (`soft_labels`) and then with a teacher's probabilities (`teacher`)."""
    from training.core.distill import distilled_targets, teacher_probabilities
    from training.core.ferplus import load_votes, soft_targets

    if not config.soft_labels and not config.teacher:
        return None
    if config.soft_labels:
        targets = soft_targets(data, load_votes(config.soft_labels), config.soft_label_weight)
    else:
        targets = data.one_hot_labels()
    if config.teacher:
        teacher = teacher_probabilities(config.teacher, data, cache=_teacher_cache(config))
        targets = distilled_targets(targets, teacher, config.teacher_weight)
    return targets


def _teacher_cache(config: TrainConfig) -> Path | None:
    """Where a run keeps its teacher's probabilities, so that a resumed run trains towards the same
    targets even if the teacher's directory has changed since (e.g. a new model was shipped)."""
    return Path(config.out) / "checkpoint" / "teacher.npy" if config.out else None


def _save_config(out: Path, config: TrainConfig, *, resumed: bool, earlier_commands: list[str]) -> None:
    """Record the configuration; a resumed run keeps the commands of the runs before it, and a
    fine-tuned network the commands that trained the network it started from."""
    path = out / CONFIG_FILE
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


def save_network(model, config: TrainConfig, path: Path) -> None:
    """Save the network (weights and architecture, no optimizer) as float32, whatever it computes
    in: it is rebuilt, uncompiled and in float32, with the same weights, so that every later reader
    (export, ensembles, fine-tuning) gets a plain float32 network, a third of the size of one saved
    with its optimizer's state (which only `checkpoint/last.keras` needs)."""
    import keras

    from training.core import architectures

    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        plain = architectures.build(config.architecture)
        plain.set_weights(model.get_weights())
        write_whole(path, plain.save)
    finally:
        keras.mixed_precision.set_global_policy(policy)


def _swa_path(out: Path) -> Path:
    return out / "checkpoint" / "swa.npz"


def _load_average(out: Path, state: TrainState) -> list[np.ndarray] | None:
    if state.swa_epochs == 0 or not _swa_path(out).is_file():
        return None
    with np.load(_swa_path(out)) as stored:
        return [stored[f"w{index}"] for index in range(len(stored.files))]


def _save_average(out: Path, average: list[np.ndarray]) -> None:
    write_whole(_swa_path(out), lambda partial: np.savez(partial, **{f"w{index}": weights
                                                                for index, weights in enumerate(average)}))


def _keep_average_if_better(model, average: list[np.ndarray], train_data: FaceDataset, val_ds, state: TrainState,
                   out: Path, config: TrainConfig) -> None:
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
        save_network(model, config, out / "model.keras")
    logger.info("weight average of %d epochs: val_acc %.4f (%s)", state.swa_epochs, val_accuracy,
                "chosen" if chosen else f"not better than the kept model, {best_so_far:.4f}")


@dataclass
class TrainingRun:
    """What the steps of one run share: its configuration, network, state and data."""

    config: TrainConfig
    out: Path
    model: object  # keras.Model, compiled
    state: TrainState
    average: list[np.ndarray] | None  # the running weight average (SWA), if any
    dataset: FaceDataset
    held_out: set[str]  # splits drawn from Training because the data set lacked them
    train_data: FaceDataset
    val_data: FaceDataset
    train_stream: object  # tf.data.Dataset: shuffled, augmented batches
    val_stream: object
    class_weight: dict[int, float] | None

    @property
    def checkpoint(self) -> Path:
        return self.out / "checkpoint" / "last.keras"

    @property
    def finished(self) -> bool:
        return self.state.epoch >= self.config.epochs or self.state.stopped_early


def _limited(data: FaceDataset, count: int) -> FaceDataset:
    return data.subset(np.arange(min(len(data), max(count, 1))))


def load_splits(config: TrainConfig) -> tuple[FaceDataset, set[str], FaceDataset, FaceDataset]:
    """The data set, the splits it lacked (held out of Training), its training and validation rows
    (`limit`: a random `limit` of Training, the first quarter of that of validation)."""
    dataset, held_out = with_holdout_splits(load_dataset(config.data), config.seed)
    train_data, val_data = dataset.split(config.train_split), dataset.split(config.val_split)
    if config.limit:
        rng = np.random.default_rng(config.seed)
        train_data = train_data.subset(rng.permutation(len(train_data))[: config.limit])
        val_data = _limited(val_data, config.limit // 4)
    if len(train_data) == 0 or len(val_data) == 0:
        raise ValueError(f"{config.data}: the {config.train_split} or {config.val_split} split is empty")
    return dataset, set(held_out), train_data, val_data


def _compiled_network(config: TrainConfig, source: InitialNetwork | None):
    import keras

    from training.core import architectures

    model = source.model if source is not None else architectures.build(config.architecture)
    model.compile(
        optimizer=_make_optimizer(config),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
        jit_compile=config.jit_compile,
    )
    return model


# What a resumed run must ask for as its first part did: the checkpoint computes in the recorded
# precision (Keras saves each layer's policy), its network is the recorded architecture (the kept
# network is rebuilt by name), and its targets come from the recorded teacher and mixup. A resume asking for
# something else would be recorded, and benchmarked, as what it is not.
RESUME_MUST_MATCH: dict[str, object] = {"precision": "float32", "architecture": None, "teacher": None,
                                        "teacher_weight": None, "mixup_alpha": 0.0}


def _check_resumed_options(out: Path, config: TrainConfig) -> None:
    """Refuse a resume whose options in `RESUME_MUST_MATCH` differ from the recorded run's (a missing
    record counts as the default given there; None: not checked when missing)."""
    try:
        recorded = json.loads((out / CONFIG_FILE).read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"{out}: cannot resume without a readable {CONFIG_FILE} ({error})") from None
    if not isinstance(recorded, dict):
        raise ValueError(f"{out}: cannot resume without a readable {CONFIG_FILE} (not a JSON object)")
    for name, default in RESUME_MUST_MATCH.items():
        if name == "architecture" and config.init_from:
            continue  # a fine-tuning run takes its architecture from its config.json (build_or_resume)
        before = recorded.get(name, default)
        if name not in recorded and default is None:
            continue
        if before != getattr(config, name):
            flag = "--" + name.replace("_", "-")
            raise ValueError(f"{out} was trained with {flag} {before}; resume it with the same {name} "
                             f"(asked: {getattr(config, name)})")


def build_or_resume(config: TrainConfig, *, resume: bool) -> TrainingRun:
    """A fresh (or fine-tuned) network, or with `resume` the checkpoint and state.json of a stopped
    run in `config.out`; records the configuration and prepares the data streams."""
    import keras

    check_config(config)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "checkpoint").mkdir(exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    dataset, held_out, train_data, val_data = load_splits(config)

    checkpoint, state_path = out / "checkpoint" / "last.keras", out / "state.json"
    resuming = resume and checkpoint.exists() and state_path.exists()
    if resuming:
        _check_resumed_options(out, config)
    state = _load_state(state_path) if resuming else TrainState(learning_rate=config.learning_rate)
    # Only the network computes in the run's precision (the augmentation layers are float32
    # whatever the policy, augment.py); the policy is set once the data streams are built.
    train_stream = training_stream(train_data, config, first_epoch=state.epoch)
    val_stream = _batched_dataset(val_data, 256, shuffle=False)
    keras.mixed_precision.set_global_policy(config.precision)
    source = initial_network(config) if config.init_from and not resuming else None
    if source is not None:
        config = replace(config, architecture=source.architecture)
    elif config.init_from:  # resuming a fine-tuning run: the network is the one it started from
        config = replace(config, architecture=json.loads((out / CONFIG_FILE).read_text())["architecture"])
    if resuming:
        model = keras.models.load_model(checkpoint, compile=True)
        # XLA is a way of running, not part of the network: a resumed run may switch it (--no-jit).
        model.jit_compile = config.jit_compile
        model.optimizer.learning_rate.assign(state.learning_rate)
        logger.info("resuming after epoch %d (best val accuracy %.4f)", state.epoch, state.best_val_accuracy)
    else:
        model = _compiled_network(config, source)
    _save_config(out, config, resumed=state.epoch > 0, earlier_commands=source.commands if source else [])
    return TrainingRun(
        config=config, out=out, model=model, state=state, average=_load_average(out, state),
        dataset=dataset, held_out=held_out, train_data=train_data, val_data=val_data,
        train_stream=train_stream, val_stream=val_stream,
        class_weight=_balanced_class_weights(train_data.labels) if config.class_weights else None,
    )


def set_scheduled_rate(run: TrainingRun) -> None:
    """Before an epoch: the cosine or constant schedule's rate (the plateau schedule acts after it)."""
    if run.config.schedule in ("cosine", "constant"):
        run.model.optimizer.learning_rate.assign(scheduled_learning_rate(run.config, run.state.epoch))


def train_one_epoch(run: TrainingRun, *, verbose: int) -> dict:
    """Fit one epoch, evaluate on the validation split; the epoch's history record."""
    started = time.monotonic()
    set_scheduled_rate(run)
    fit = run.model.fit(run.train_stream, initial_epoch=run.state.epoch, epochs=run.state.epoch + 1,
                        class_weight=run.class_weight, verbose=verbose)
    val_loss, val_accuracy = run.model.evaluate(run.val_stream, verbose=0)
    run.state.epoch += 1
    record = {
        "epoch": run.state.epoch,
        "loss": float(fit.history["loss"][-1]),
        "accuracy": float(fit.history["accuracy"][-1]),
        "val_loss": float(val_loss),
        "val_accuracy": float(val_accuracy),
        "learning_rate": float(run.model.optimizer.learning_rate.numpy()),
        "seconds": round(time.monotonic() - started, 1),
    }
    run.state.history.append(record)
    return record


def keep_if_best(run: TrainingRun, val_accuracy: float) -> None:
    """The best epoch on validation so far is kept as model.keras."""
    if val_accuracy > run.state.best_val_accuracy:
        run.state.best_val_accuracy = float(val_accuracy)
        run.state.best_epoch = run.state.epoch
        save_network(run.model, run.config, run.out / "model.keras")


def step_plateau_schedule(run: TrainingRun, val_accuracy: float, learning_rate: float) -> None:
    """After an epoch: ReduceLROnPlateau on validation accuracy (the plateau schedule), and the
    rate the next epoch (or a resumed run) starts from."""
    state, config = run.state, run.config
    if val_accuracy > state.plateau_best + 1e-4:
        state.plateau_best = float(val_accuracy)
        state.plateau_wait = 0
    elif config.schedule == "plateau":
        state.plateau_wait += 1
        if state.plateau_wait >= config.plateau_patience:
            learning_rate = max(learning_rate * config.plateau_factor, config.min_learning_rate)
            run.model.optimizer.learning_rate.assign(learning_rate)
            state.plateau_wait = 0
    state.learning_rate = learning_rate


def check_early_stopping(run: TrainingRun) -> None:
    if run.state.epoch - run.state.best_epoch >= run.config.early_stopping_patience:
        run.state.stopped_early = True


def update_weight_average(run: TrainingRun) -> None:
    """Past `swa_start`, fold this epoch's weights into the running average (kept on disk)."""
    if run.config.swa_start is None or run.state.epoch <= run.config.swa_start:
        return
    weights = run.model.get_weights()
    run.state.swa_epochs += 1
    run.average = weights if run.average is None else [
        mean + (new - mean) / run.state.swa_epochs for mean, new in zip(run.average, weights, strict=True)]
    _save_average(run.out, run.average)
    run.state.swa = None  # a resumed run that adds epochs evaluates its new average again


def save_checkpoint(run: TrainingRun) -> None:
    """checkpoint/last.keras, state.json and history.json: what `resume` starts from."""
    write_whole(run.checkpoint, run.model.save)
    _write_json(run.out / "state.json", asdict(run.state))
    _write_json(run.out / "history.json", run.state.history)


def epoch_report(run: TrainingRun, record: dict) -> EpochReport:
    return EpochReport(run.state.epoch, run.config.epochs, record["loss"], record["accuracy"], record["val_loss"],
                       record["val_accuracy"], run.state.learning_rate, record["seconds"],
                       run.state.best_val_accuracy)


def log_epoch(report: EpochReport) -> None:
    logger.info("epoch %d/%d loss %.4f acc %.4f val_loss %.4f val_acc %.4f lr %.2e (%.0fs)", report.epoch,
                report.epochs, report.loss, report.accuracy, report.val_loss, report.val_accuracy,
                report.learning_rate, report.seconds)


def finish_run(run: TrainingRun, *, evaluate_at_end: bool) -> TrainResult:
    """Evaluate the weight average (if any and not yet), export the kept model to LiteRT and, with
    `evaluate_at_end`, evaluate it on the test split."""
    import keras

    from training.core.evaluate import evaluate_model, write_evaluation
    from training.core.export import export_tflite

    config, state, out = run.config, run.state, run.out
    if run.average is not None and state.swa is None:
        _keep_average_if_better(run.model, run.average, run.train_data, run.val_stream, state, out, config)
        _write_json(out / "state.json", asdict(state))
    export_tflite(keras.models.load_model(out / "model.keras", compile=False), out / MODEL_FILE)
    if not evaluate_at_end:
        return TrainResult(out, state, None)
    test_data = run.dataset.split(config.test_split)
    if config.limit:
        test_data = _limited(test_data, config.limit // 4)
    # As `evaluate` does: also report accuracy without the test images that occur in Training.
    overlap = train_overlap_mask(run.dataset, config.test_split)[: len(test_data)]
    metrics = evaluate_model(out, test_data, split=config.test_split, data_path=config.data, overlap=overlap)
    if state.swa is not None:
        metrics["swa"] = state.swa
    if config.test_split in run.held_out:
        metrics["held_out"] = (f"{config.test_split}: {HOLDOUT_FRACTION:.0%} of each class of "
                               f"{config.train_split}, drawn with seed {config.seed}")
    write_evaluation(out, metrics, history=state.history)
    return TrainResult(out, state, metrics)


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    on_epoch: Callable[[EpochReport], None] | None = None,
    verbose: int = 1,
    evaluate_at_end: bool = True,
) -> TrainResult:
    """Train per `config`; write artifacts into `config.out`; return the final state. Each epoch
    is logged (logger `training.core.trainer`) and reported to `on_epoch`, which may raise
    TrainingCancelled to stop after it."""
    import keras

    policy = keras.mixed_precision.global_policy()  # the run's precision is the process's while it runs
    try:
        run = build_or_resume(config, resume=resume)
        while not run.finished:
            record = train_one_epoch(run, verbose=verbose)
            keep_if_best(run, record["val_accuracy"])
            step_plateau_schedule(run, record["val_accuracy"], record["learning_rate"])
            check_early_stopping(run)
            update_weight_average(run)
            save_checkpoint(run)
            report = epoch_report(run, record)
            log_epoch(report)
            if on_epoch is not None:
                on_epoch(report)
        keras.mixed_precision.set_global_policy("float32")  # export and evaluation: the saved float32 network
        return finish_run(run, evaluate_at_end=evaluate_at_end)
    finally:
        keras.mixed_precision.set_global_policy(policy)
