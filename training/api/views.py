"""REST API of the model registry (read: any user) and of training jobs, under the admin's permissions
(`training.permissions`): activating a version, seeing, queueing and cancelling jobs."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from training import selectors
from training.api.filters import ModelVersionFilter, TrainingJobFilter
from training.api.permissions import ActionPermission
from training.api.serializers import (
    DatasetSerializer,
    ModelVersionSerializer,
    TrainingJobCreateSerializer,
    TrainingJobSerializer,
)
from training.models import TrainingJob
from training.permissions import ACTIVATE_MODEL_VERSION, CANCEL_JOBS, QUEUE_JOBS, VIEW_JOBS
from training.services import jobs, registry

CONFIRM_DOWNGRADE = "confirm_downgrade"  # the query parameter that activates a lower-scoring version anyway


def _as_api_error(error: DjangoValidationError) -> ValidationError:
    return ValidationError({"detail": error.messages})


def _downgrade_refusal(version, active) -> Response:
    """409: activating `version` would lose accuracy against the active version on the same split,
    which the admin asks about first; the client repeats the call with `confirm_downgrade=true`."""
    return Response({
        "detail": (f"{version.name} scores {version.accuracy:.2%} on {version.split} ({version.n} faces), below "
                   f"the active {active.name}'s {active.accuracy:.2%} on the same faces; repeat with "
                   f"?{CONFIRM_DOWNGRADE}=true to activate it anyway"),
        "active": active.pk,
    }, status=status.HTTP_409_CONFLICT)


@extend_schema_view(
    list=extend_schema(summary="Registered model versions, newest first"),
    retrieve=extend_schema(summary="One model version with its metrics"),
)
class ModelVersionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ModelVersionSerializer
    filterset_class = ModelVersionFilter
    queryset = selectors.model_versions()
    permission_classes = [ActionPermission]
    action_permissions = {"activate": ACTIVATE_MODEL_VERSION}

    @extend_schema(
        summary=f"Make this version the one live recognition uses (staff with {ACTIVATE_MODEL_VERSION})",
        request=None,
        parameters=[OpenApiParameter(CONFIRM_DOWNGRADE, bool, description=(
            "activate even if the version scores below the active one on the same split (else 409)"))],
        responses={200: ModelVersionSerializer, 400: OpenApiResponse(description="no model file"),
                   409: OpenApiResponse(description="it scores below the active version on the same split: "
                                        f"repeat with {CONFIRM_DOWNGRADE}=true")})
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str | None = None) -> Response:
        version = self.get_object()
        confirmed = request.query_params.get(CONFIRM_DOWNGRADE, "").lower() in {"true", "1", "yes"}
        active = selectors.activation_downgrade(version)
        if active is not None and not confirmed:
            return _downgrade_refusal(version, active)
        try:
            version = registry.activate_model_version(version)
        except DjangoValidationError as error:
            raise _as_api_error(error) from error
        return Response(self.get_serializer(version).data)


@extend_schema_view(
    list=extend_schema(summary=f"Training jobs, newest first (staff with {VIEW_JOBS})"),
    retrieve=extend_schema(summary="One training job with its progress, log tail and result (staff)"),
)
class TrainingJobViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = TrainingJobSerializer
    filterset_class = TrainingJobFilter
    permission_classes = [ActionPermission]
    default_permission = VIEW_JOBS
    action_permissions = {"create": QUEUE_JOBS, "cancel": CANCEL_JOBS}
    queryset = selectors.training_jobs()

    @extend_schema(summary=f"Queue a retrain or evaluate job (staff with {QUEUE_JOBS})",
                   request=TrainingJobCreateSerializer,
                   responses={201: TrainingJobSerializer, 400: OpenApiResponse(description="invalid options"),
                              503: OpenApiResponse(description="the task queue is down; the job is kept as failed")})
    def create(self, request: Request, *args, **kwargs) -> Response:
        form = TrainingJobCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            if data["kind"] == TrainingJob.Kind.RETRAIN:
                job = jobs.create_retrain_job(
                    architecture=data.get("architecture", ""), epochs=data["epochs"], dataset=data["dataset"],
                    name=data.get("name") or "", options=data.get("options") or {},
                    start_from=data.get("source_version"), created_by=request.user,
                )
            else:
                job = jobs.create_evaluate_job(
                    version=data["source_version"], dataset=data["dataset"], split=data["split"], tta=data["tta"],
                    created_by=request.user,
                )
        except DjangoValidationError as error:
            raise _as_api_error(error) from error
        if jobs.queue_was_down(job):
            return Response({"detail": jobs.queue_down_message(job)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response(TrainingJobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary=f"Cancel a queued or running job (staff with {CANCEL_JOBS})", request=None,
                   responses={200: TrainingJobSerializer, 400: OpenApiResponse(description="already finished")})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        try:
            job = jobs.cancel_job(self.get_object())
        except DjangoValidationError as error:
            raise _as_api_error(error) from error
        return Response(TrainingJobSerializer(job).data)

    @extend_schema(summary="Data sets found in TRAINING_DATA_ROOTS (staff)", responses=DatasetSerializer(many=True),
                   filters=False)
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def datasets(self, request: Request) -> Response:
        rows = [{"path": str(path), "name": path.name} for path in selectors.available_datasets()]
        return Response(DatasetSerializer(rows, many=True).data)
