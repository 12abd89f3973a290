"""Each training option is defined once (training.core.options): the command line, the API's
serializer, the admin's Retrain form and the job service accept and refuse the same values at
each of its bounds. Parametrized over the specs, so a new option is covered without a new test."""

from __future__ import annotations

import argparse
import shlex
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from rest_framework.exceptions import ValidationError as APIValidationError

from training.admin import RetrainForm
from training.api.serializers import TrainingJobCreateSerializer, TrainingOptionsSerializer
from training.core.cli import add_train_arguments, config_from_arguments
from training.core.options import CLI_OPTIONS, JOB_OPTIONS, OPTIONS, OptionError, OptionSpec, TrainConfig, cli_flag
from training.services import jobs


def boundary_values(spec: OptionSpec) -> list[tuple[Any, bool]]:
    """(value, accepted) at each edge of the option: each bound and just past it, the choices."""
    if spec.kind is bool:
        return [(not spec.default, True)]
    if spec.choices:
        return [(spec.choices[0], True), (spec.choices[-1], True), ("no-such-choice", False)]
    cases = []
    if spec.minimum is not None:
        below = spec.minimum - 1 if spec.kind is int else (spec.minimum / 2 if spec.minimum > 0 else -0.01)
        cases += [(spec.minimum, True), (below, False)]
    if spec.maximum is not None:
        above = spec.maximum + 1 if spec.kind is int else spec.maximum + 0.01
        cases += [(spec.maximum, True), (above, False)]
    return cases


CASES = [pytest.param(spec, value, accepted, id=f"{spec.name}={value}")
         for spec in OPTIONS.values() for value, accepted in boundary_values(spec)]


def accepted_by_core(spec: OptionSpec, value: Any) -> bool:
    try:
        spec.check(value)
    except OptionError:
        return False
    return True


def accepted_by_cli(spec: OptionSpec, value: Any) -> bool:
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    argv = ["--out", "run", cli_flag(spec)] + ([] if spec.kind is bool else [str(value)])
    try:
        arguments = vars(parser.parse_args(argv))
    except SystemExit:
        return False
    assert getattr(config_from_arguments(arguments), spec.name) == value
    return True


def accepted_by_serializer(spec: OptionSpec, value: Any) -> bool:
    serializer = TrainingOptionsSerializer() if spec.name in jobs.TRAIN_OPTIONS else TrainingJobCreateSerializer()
    try:
        serializer.fields[spec.name].run_validation(value)
    except APIValidationError:
        return False
    return True


def accepted_by_service(spec: OptionSpec, value: Any) -> bool:
    try:
        assert jobs.check_training_options({spec.name: value}) == {spec.name: value}
    except ValidationError:
        return False
    return True


def admin_field_name(spec: OptionSpec) -> str | None:
    if spec.name in jobs.JOB_FIELDS:
        return spec.name
    return next((field for field, option in RetrainForm.OPTION_FIELDS.items() if option == spec.name), None)


def accepted_by_admin_form(field_name: str, value: Any) -> bool:
    try:
        RetrainForm().fields[field_name].clean(str(value))
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(("spec", "value", "accepted"), CASES)
def test_every_surface_accepts_and_refuses_the_same_values(spec, value, accepted):
    verdicts = {"core": accepted_by_core(spec, value)}
    if spec.cli:
        verdicts["cli"] = accepted_by_cli(spec, value)
    if spec.job:
        verdicts["serializer"] = accepted_by_serializer(spec, value)
        verdicts["service"] = accepted_by_service(spec, value)
        field_name = admin_field_name(spec)
        if field_name is not None:
            verdicts["admin"] = accepted_by_admin_form(field_name, value)
    assert verdicts == dict.fromkeys(verdicts, accepted)


@pytest.mark.parametrize("spec", OPTIONS.values(), ids=lambda spec: spec.name)
def test_the_default_is_accepted_and_is_the_configs_default(spec):
    assert spec.check(spec.default) == spec.default
    assert getattr(TrainConfig(data="", out=""), spec.name) == spec.default


def test_every_job_option_has_a_serializer_field_and_every_cli_option_a_flag():
    fields = {**TrainingOptionsSerializer().fields, **TrainingJobCreateSerializer().fields}
    assert set(JOB_OPTIONS) <= set(fields)
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    assert set(CLI_OPTIONS) <= {action.dest for action in parser._actions}


def test_the_running_runs_command_line_still_parses():
    """The flags of a long run started before options.py (its --resume must keep working)."""
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    command = ("--data d.npz --out runs/x --architecture fernet_deep --epochs 100 --schedule cosine "
               "--warmup-epochs 2 --label-smoothing 0.1 --early-stopping-patience 100 --seed 7 --resume "
               "--no-augment --no-jit")
    arguments = vars(parser.parse_args(shlex.split(command)))
    config = config_from_arguments(arguments)
    assert (config.epochs, config.warmup_epochs, config.label_smoothing, config.seed) == (100, 2, 0.1, 7)
    assert not config.augment and not config.jit_compile and arguments["resume"]


def test_a_refusal_names_the_option_and_the_bound():
    with pytest.raises(ValidationError, match="soft_label_weight: between 0 and 1"):
        jobs.check_training_options({"soft_label_weight": 1.5})
    with pytest.raises(ValidationError, match="unknown training option"):
        jobs.check_training_options({"no_such_option": 1})
