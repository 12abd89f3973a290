"""Admin for the model registry and training jobs: Retrain, Evaluate, Activate and Cancel call training.services."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.formats import date_format
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from training import selectors
from training.core.labels import SPLITS
from training.core.options import JOB_OPTIONS
from training.models import ModelVersion, TrainingJob
from training.permissions import ACTIVATE_MODEL_VERSION, CANCEL_JOBS, QUEUE_JOBS, VIEW_JOBS
from training.services import jobs, registry

REFRESH_SECONDS = 3


def confusion_rows(metrics: dict) -> list[dict[str, Any]]:
    """The confusion matrix as table rows: each cell's count, its share of the row, and that share in
    tenths (the shade class of the cell: the CSP allows no inline styles)."""
    labels, matrix = metrics.get("labels") or [], metrics.get("confusion_matrix") or []
    rows = []
    for label, counts in zip(labels, matrix, strict=False):
        total = sum(counts) or 1
        rows.append({"label": label, "total": sum(counts),
                     "cells": [{"count": count, "share": round(100 * count / total), "shade": round(10 * count / total)}
                               for count in counts]})
    return rows


def per_class_rows(metrics: dict) -> list[dict[str, Any]]:
    """Per-class figures in the order of the metrics' labels (a JSON column does not keep key order)."""
    per_class = metrics.get("per_class") or {}
    order = [label for label in metrics.get("labels") or [] if label in per_class]
    names = order + [name for name in per_class if name not in order]
    return [{"label": name, **per_class[name]} for name in names]


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def key_value_rows(mapping: dict) -> list[tuple[str, str]]:
    """A configuration as table rows: each key and its value (a list or mapping as compact JSON)."""
    return [(str(key), json.dumps(value, default=str) if isinstance(value, list | dict) else
             "-" if value is None else str(value)) for key, value in sorted(mapping.items())]


def metrics_context(metrics: dict, split: str | None = None) -> dict[str, Any]:
    """What templates/admin/training/_metrics.html shows of a version's or an evaluation's metrics;
    `split`: where they were measured when the metrics do not say (a version records it apart)."""
    return {"confusion_rows": confusion_rows(metrics), "per_class_rows": per_class_rows(metrics),
            "metrics_split": metrics.get("split") or split, "metrics_json": pretty_json(metrics)}


def _require_perm(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


DATASET_HELP = ("the face data sets on this server: FER-2013 files (.npz, or Kaggle's .csv, with its Training, "
                "PublicTest and PrivateTest splits) and folders of face images sorted into one folder per emotion")


def dataset_choices() -> list[tuple[str, str]]:
    """Each data set by its name, with the folder that holds it."""
    return [(str(path), f"{path.name} (in {path.parent})") for path in selectors.available_datasets()]


def dataset_field(purpose: str) -> forms.ChoiceField:
    return forms.ChoiceField(label="Data set", help_text=f"{purpose}: {DATASET_HELP}")


def option_form_field(name: str, *, required: bool = False, **overrides) -> forms.Field:
    """The form field of a training option: its type, bounds or choices, default and help."""
    spec = JOB_OPTIONS[name]
    arguments = {"required": required, "initial": spec.default, "help_text": spec.help, **overrides}
    if spec.choices:
        return forms.ChoiceField(choices=[(choice, choice) for choice in spec.choices], **arguments)
    if spec.kind is bool:
        return forms.BooleanField(**{**arguments, "required": False})
    field = forms.IntegerField if spec.kind is int else forms.FloatField
    return field(min_value=spec.minimum, max_value=spec.maximum, **arguments)


class RetrainForm(forms.Form):
    # Form field -> the training option it sets (an empty field leaves the option's default).
    OPTION_FIELDS = {"batch_size": "batch_size", "limit": "limit", "schedule": "schedule",
                     "learning_rate": "learning_rate", "swa_start": "swa_start",
                     "soft_label_weight": "soft_label_weight", "start_member": "init_member"}

    architecture = option_form_field("architecture", required=True)
    epochs = option_form_field("epochs", required=True)
    dataset = dataset_field("the faces to train on")
    name = forms.SlugField(max_length=100, required=False,
                           help_text="the job's and the new version's name (letters, digits, - and _); "
                                     "empty: generated")
    batch_size = option_form_field("batch_size")
    limit = option_form_field("limit")
    schedule = option_form_field("schedule")
    learning_rate = option_form_field("learning_rate")
    start_from = forms.ModelChoiceField(
        queryset=ModelVersion.objects.order_by("-created_at"), required=False, label="Fine-tune version",
        help_text="start from this version's weights instead of fresh ones (its architecture is used): "
                  "e.g. the active model on your own data set, at a lower learning rate")
    start_member = option_form_field("init_member", label="Network")
    swa_start = option_form_field("swa_start", label="Average weights after epoch")
    soft_label_weight = option_form_field("soft_label_weight", label="FER+ vote weight", initial=None,
                                          help_text=f"{JOB_OPTIONS['soft_label_weight'].help}; FER-2013 data "
                                                    "only, e.g. 0.3; empty: off")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["dataset"].choices = dataset_choices()

    def training_options(self) -> dict[str, Any]:
        """The options the admin filled in (a network only when fine-tuning)."""
        data = self.cleaned_data
        options = {option: data[field] for field, option in self.OPTION_FIELDS.items()
                   if data[field] not in (None, "")}
        if data["start_from"] is None:
            options.pop("init_member", None)
        return options


class EvaluateForm(forms.Form):
    dataset = dataset_field("the faces to measure this version on")
    split = forms.ChoiceField(choices=[(s, s) for s in SPLITS], initial="PrivateTest",
                              help_text="the part of a FER-2013 data set to measure on (PrivateTest: faces no "
                                        "training has seen); a data set without splits is measured whole")
    tta = forms.BooleanField(required=False, label="Test-time augmentation (average with the mirrored face)")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["dataset"].choices = dataset_choices()


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_filter = ("is_active", "architecture")
    search_fields = ("name",)
    # The training configuration and the metrics are shown as tables by the page's template.
    fields = ("name", "architecture", "artifact_dir", "created_at", "dataset", "split", "is_active", "activated_at")
    readonly_fields = fields
    actions = ("activate_selected", "evaluate_selected")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from retrain jobs and from the shipped model

    def has_change_permission(self, request: HttpRequest, obj: ModelVersion | None = None) -> bool:
        return False  # nothing on a version is edited by hand: its page is read-only (no Save)

    def get_list_display(self, request: HttpRequest):
        """The active flag early (visible at 1280 px), and where each version's figures come from,
        marked when they are not comparable with the others'."""
        comparison = selectors.version_comparison()

        @admin.display(description="measured on")
        def measured_on(version: ModelVersion) -> str:
            if version.accuracy is None:
                return "-"
            basis = selectors.metrics_basis(version)
            if comparison.comparable(version):
                return str(basis)
            return format_html('{} <span class="training-incomparable" title="not comparable with {}">'
                               "not comparable</span>", basis, comparison.reference)

        # The architecture is in the filter and on each version's page: the list must fit 1280 px.
        return ("name", "is_active", "accuracy_display", "macro_f1_display", measured_on, "created_display")

    def changelist_view(self, request: HttpRequest, extra_context=None):
        comparison = selectors.version_comparison()
        extra = {"comparison": comparison if comparison.bases > 1 else None}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    def has_delete_permission(self, request: HttpRequest, obj: ModelVersion | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.is_active)

    @admin.display(description="accuracy")
    def accuracy_display(self, version: ModelVersion) -> str:
        return f"{version.accuracy:.1%}" if version.accuracy is not None else "-"

    @admin.display(description="macro F1")
    def macro_f1_display(self, version: ModelVersion) -> str:
        return f"{version.macro_f1:.3f}" if version.macro_f1 is not None else "-"

    @admin.display(description="created", ordering="created_at")
    def created_display(self, version: ModelVersion) -> str:
        return date_format(timezone.localtime(version.created_at), "Y-m-d H:i")

    def get_urls(self):
        custom = [
            path("retrain/", self.admin_site.admin_view(self.retrain_view), name="training_modelversion_retrain"),
            path("<int:pk>/evaluate/", self.admin_site.admin_view(self.evaluate_view),
                 name="training_modelversion_evaluate"),
            path("<int:pk>/activate/", self.admin_site.admin_view(self.activate_view),
                 name="training_modelversion_activate"),
        ]
        return custom + super().get_urls()

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        version = self.get_object(request, object_id)
        extra = {**metrics_context(version.metrics, selectors.metrics_basis(version).split), "version": version,
                 "config_rows": key_value_rows(version.training_config),
                 "config_json": pretty_json(version.training_config)} if version is not None else {}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def has_activate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(ACTIVATE_MODEL_VERSION)

    def has_queue_job_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(QUEUE_JOBS)

    @admin.action(description="Activate the selected version (select one)", permissions=["activate"])
    def activate_selected(self, request: HttpRequest, queryset) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return None
        version = queryset.get()
        active = selectors.activation_downgrade(version)
        if active is not None:
            return self._confirm_activation_page(request, version, active)
        self._activate(request, version)
        return None

    @admin.action(description="Evaluate the selected version on a data set (select one)", permissions=["queue_job"])
    def evaluate_selected(self, request: HttpRequest, queryset) -> HttpResponseRedirect | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to evaluate.", messages.ERROR)
            return None
        return HttpResponseRedirect(reverse("admin:training_modelversion_evaluate", args=[queryset.get().pk]))

    def _activate(self, request: HttpRequest, version: ModelVersion) -> None:
        try:
            registry.activate_model_version(version)
        except ValidationError as error:
            self.message_user(request, "; ".join(error.messages), messages.ERROR)
            return
        self.message_user(request, f"{version.name} is now the active model; live sessions switch to it.")

    def _confirm_activation_page(self, request: HttpRequest, version: ModelVersion,
                                 active: ModelVersion) -> HttpResponse:
        """Asks before activating a version that scores below the active one on the same split."""
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "version": version,
                   "active": active, "basis": selectors.metrics_basis(active),
                   "title": f"Activate {version.name}, which scores below {active.name}?"}
        return render(request, "admin/training/modelversion/activate_confirmation.html", context)

    @method_decorator(require_POST)
    def activate_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Activate; a version scoring below the active one is activated only once confirmed."""
        _require_perm(request, ACTIVATE_MODEL_VERSION)
        version = get_object_or_404(ModelVersion, pk=pk)
        active = selectors.activation_downgrade(version)
        if active is not None and not request.POST.get("confirmed"):
            return self._confirm_activation_page(request, version, active)
        self._activate(request, version)
        return HttpResponseRedirect(reverse("admin:training_modelversion_change", args=[pk]))

    def _queued_job_response(self, request: HttpRequest, job: TrainingJob) -> HttpResponse:
        if jobs.queue_was_down(job):
            self.message_user(request, jobs.queue_down_message(job), messages.ERROR)
        else:
            self.message_user(request, f"Queued {job.name}.")
        return HttpResponseRedirect(reverse("admin:training_trainingjob_change", args=[job.pk]))

    def _form_page(self, request: HttpRequest, form: forms.Form, title: str, version=None) -> HttpResponse:
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form, "title": title,
                   "version": version, "has_datasets": bool(form.fields["dataset"].choices)}
        return render(request, "admin/training/job_form.html", context)

    def retrain_view(self, request: HttpRequest) -> HttpResponse:
        _require_perm(request, QUEUE_JOBS)
        form = RetrainForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                job = jobs.create_retrain_job(architecture=data["architecture"], epochs=data["epochs"],
                                                  dataset=data["dataset"], name=data["name"],
                                                  options=form.training_options(),
                                                  start_from=data["start_from"], created_by=request.user)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return self._queued_job_response(request, job)
        return self._form_page(request, form, "Retrain: train a new model version")

    def evaluate_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        _require_perm(request, QUEUE_JOBS)
        version = get_object_or_404(ModelVersion, pk=pk)
        form = EvaluateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                job = jobs.create_evaluate_job(version=version, dataset=data["dataset"], split=data["split"],
                                                   tta=data["tta"], created_by=request.user)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return self._queued_job_response(request, job)
        return self._form_page(request, form, f"Evaluate {version.name}", version=version)


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "state", "progress_display", "epoch_display", "created_at", "created_by",
                    "result_version")
    list_filter = ("kind", "state")
    search_fields = ("name",)
    list_select_related = ("created_by", "result_version")
    actions = ("cancel_selected",)
    # The parameters and the metrics are shown as tables by the page's template.
    fields = ("name", "kind", "state", "progress", "current_epoch", "total_epochs", "error",
              "created_by", "created_at", "started_at", "finished_at", "attempts", "worker", "source_version",
              "result_version", "output_dir")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs are created by Retrain / Evaluate

    def has_change_permission(self, request: HttpRequest, obj: TrainingJob | None = None) -> bool:
        return False  # a job's page is read-only: the worker writes it

    @admin.display(description="progress")
    def progress_display(self, job: TrainingJob) -> str:
        return format_html('<progress max="100" value="{}"></progress> {}%', job.progress, job.progress)

    @admin.display(description="epoch")
    def epoch_display(self, job: TrainingJob) -> str:
        return f"{job.current_epoch}/{job.total_epochs}" if job.kind == TrainingJob.Kind.RETRAIN else "-"

    def get_urls(self):
        custom = [
            path("<int:pk>/cancel/", self.admin_site.admin_view(self.cancel_view), name="training_trainingjob_cancel"),
            path("<int:pk>/image/<str:name>", self.admin_site.admin_view(self.image_view),
                 name="training_trainingjob_image"),
        ]
        return custom + super().get_urls()

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        job = self.get_object(request, object_id)
        extra: dict[str, Any] = {}
        if job is not None:
            extra = {
                "job": job,
                "refresh_seconds": None if job.is_finished else REFRESH_SECONDS,
                **metrics_context(job.metrics),
                "config_rows": key_value_rows(job.parameters),
                "config_json": pretty_json(job.parameters),
                "images": [reverse("admin:training_trainingjob_image", args=[job.pk, name])
                           for name in selectors.job_images(job)],
            }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CANCEL_JOBS)

    @admin.action(description="Cancel the selected queued or running jobs", permissions=["cancel"])
    def cancel_selected(self, request: HttpRequest, queryset) -> None:
        for job in queryset:
            self._cancel(request, job)

    def _cancel(self, request: HttpRequest, job: TrainingJob) -> None:
        try:
            job = jobs.cancel_job(job)
        except ValidationError as error:
            self.message_user(request, "; ".join(error.messages), messages.WARNING)
            return
        self.message_user(request, f"{job.name}: " + ("cancelled." if job.is_finished else
                                                      "cancel requested; it stops after the current epoch."))

    @method_decorator(require_POST)
    def cancel_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        _require_perm(request, CANCEL_JOBS)
        self._cancel(request, get_object_or_404(TrainingJob, pk=pk))
        return HttpResponseRedirect(reverse("admin:training_trainingjob_change", args=[pk]))

    def image_view(self, request: HttpRequest, pk: int, name: str) -> FileResponse:
        """A plot the job wrote (confusion matrix, curves), for those who may see the job."""
        _require_perm(request, VIEW_JOBS)
        image = selectors.job_image_path(get_object_or_404(TrainingJob, pk=pk), name)
        if image is None:
            raise Http404("no such plot")
        return FileResponse(image.open("rb"), content_type="image/png")
