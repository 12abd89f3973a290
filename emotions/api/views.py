"""REST API views for a user's own sessions, detections and statistics, and single-image prediction.

Views stay thin: reads come from `emotions.api.selectors` (and `emotions.selectors`), predictions from
`emotions.api.services`, deletions and notes from `emotions.data_services`.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.exceptions import APIException, UnsupportedMediaType
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from emotions import data_services
from emotions import selectors as history
from emotions.api import selectors, services
from emotions.api.filters import DetectionFilter, SessionFilter, StatsFilter
from emotions.api.serializers import (
    CaptureSessionSerializer,
    DailyEmotionMixSerializer,
    DetectionSerializer,
    ErrorSerializer,
    PredictResponseSerializer,
    PredictUploadSerializer,
    SessionSummarySerializer,
)
from emotions.models import CaptureSession, Detection
from emotions.recognition import InvalidImageError
from fer_site.throttles import PredictThrottle, UserThrottle


@extend_schema_view(
    list=extend_schema(summary="Your capture sessions, newest first"),
    retrieve=extend_schema(summary="One of your sessions"),
    destroy=extend_schema(summary="Delete one of your sessions, its detections and its video file"),
    partial_update=extend_schema(summary="Rename one of your sessions or change its note"),
)
class SessionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                     mixins.DestroyModelMixin, viewsets.GenericViewSet):
    serializer_class = CaptureSessionSerializer
    filterset_class = SessionFilter
    http_method_names = ["get", "patch", "delete", "head", "options"]  # PATCH only: no PUT of read-only fields

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return CaptureSession.objects.none()
        return selectors.sessions_with_counts(user=self.request.user)

    def perform_update(self, serializer) -> None:
        session = serializer.instance
        data = serializer.validated_data
        data_services.annotate_session(session=session, title=data.get("title", session.title),
                                       note=data.get("note", session.note))

    def perform_destroy(self, instance) -> None:
        data_services.delete_session(session=instance)


@extend_schema(summary="Faces detected in one of your sessions, in time order")
class SessionDetectionListView(generics.ListAPIView):
    serializer_class = DetectionSerializer
    filterset_class = DetectionFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, no session
            return Detection.objects.none()
        session = selectors.user_session_or_404(user=self.request.user, session_id=self.kwargs["session_id"])
        return history.session_detections(session=session)


class SessionSummaryView(APIView):
    @extend_schema(summary="Emotion counts, shares and mean scores of one of your sessions",
                   responses={200: SessionSummarySerializer, 404: ErrorSerializer})
    def get(self, request: Request, session_id: int) -> Response:
        session = selectors.user_session_or_404(user=request.user, session_id=session_id)
        return Response(SessionSummarySerializer(selectors.session_statistics(session=session)).data)


class StatsView(generics.GenericAPIView):
    serializer_class = DailyEmotionMixSerializer
    filterset_class = StatsFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Detection.objects.none()
        return history.user_detections(user=self.request.user)

    @extend_schema(summary="Your emotion mix per day (by the day a session started)",
                   responses=DailyEmotionMixSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = history.daily_emotion_mix(detections=self.filter_queryset(self.get_queryset()))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class RawImageParser(BaseParser):
    """A request body that is the image itself; `request.data` becomes its bytes."""

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        return stream.read() if stream is not None else b""


class JpegParser(RawImageParser):
    media_type = "image/jpeg"


class PngParser(RawImageParser):
    media_type = "image/png"


class InvalidImage(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("The image cannot be used.")
    default_code = "invalid_image"


class ImageTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The image is too large.")
    default_code = "image_too_large"


class LengthRequired(APIException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_detail = _("A multipart upload needs a Content-Length.")
    default_code = "length_required"


class ModelUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("The recognition model is not available on the server.")
    default_code = "model_unavailable"


ACCEPTED = "multipart/form-data with a field 'image', or a raw image/jpeg or image/png body"
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file


def _megabytes(size: int) -> str:
    """Exact bytes, and megabytes when that is the more readable unit: "8,388,609 bytes (8 MB)"."""
    exact = f"{size:,} bytes"
    if size < 1024 * 1024:
        return exact
    return f"{exact} ({size / (1024 * 1024):.1f}".removesuffix(".0") + " MB)"


class PredictView(APIView):
    parser_classes = [MultiPartParser, JpegParser, PngParser]
    throttle_classes = [UserThrottle, PredictThrottle]

    @extend_schema(
        summary="Faces and emotions in one image",
        description=(f"Send {ACCEPTED}. The image may be at most `PREDICT_MAX_BYTES` (8 MB by default; "
                     "413 above) and `PREDICT_MAX_PIXELS` pixels (4096x4096 by default; 400 above). "
                     "Limited to `API_RATE_PREDICT` calls per user (30 a minute by default; 429 above)."),
        request={
            "multipart/form-data": PredictUploadSerializer,
            "image/jpeg": OpenApiTypes.BINARY,
            "image/png": OpenApiTypes.BINARY,
        },
        responses={
            200: PredictResponseSerializer,
            400: OpenApiResponse(ErrorSerializer, description="empty, not a JPEG/PNG, corrupt, truncated or "
                                                              "too many pixels; the detail says which"),
            411: OpenApiResponse(ErrorSerializer, description="a multipart body sent without Content-Length "
                                                              "(chunked); a raw image body may be chunked"),
            413: OpenApiResponse(ErrorSerializer, description="more bytes than the limit"),
            415: OpenApiResponse(ErrorSerializer, description="a content type other than those accepted"),
            503: OpenApiResponse(ErrorSerializer, description="no recognition model on the server"),
        },
        examples=[OpenApiExample("one face", response_only=True, value={"faces": [{
            "box": [182, 92, 140, 140], "emotion": "happy",
            "scores": {"angry": 0.01, "disgust": 0.0, "fear": 0.02, "happy": 0.9, "sad": 0.02, "surprise": 0.03,
                       "neutral": 0.02}}]})],
    )
    def post(self, request: Request) -> Response:
        image_bytes = self._image_bytes(request)
        try:
            faces = services.predict_faces(image_bytes)
        except InvalidImageError as error:
            raise InvalidImage(str(error)) from error
        except (OSError, ValueError) as error:  # no model file, or one LiteRT cannot load
            raise ModelUnavailable() from error
        return Response(PredictResponseSerializer({"faces": faces}).data)

    def _image_bytes(self, request: Request) -> bytes:
        """The uploaded bytes, refusing the wrong content type (415) and too many bytes (413) before reading.

        A raw image body sent chunked (no Content-Length) is read up to the limit, not taken for empty;
        a chunked multipart body cannot be parsed by Django, so it is refused (411).
        """
        limit = services.predict_max_bytes()
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if content_type not in {"multipart/form-data", "image/jpeg", "image/png"}:
            raise UnsupportedMediaType(content_type or "none", detail=f"Content type {content_type or 'missing'!r} "
                                       f"is not accepted: send {ACCEPTED}.")
        announced = bool(request.META.get("CONTENT_LENGTH"))
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        slack = MULTIPART_OVERHEAD if content_type == "multipart/form-data" else 0
        if length > limit + slack:
            raise ImageTooLarge(f"the request body is {_megabytes(length)}; the image limit is {_megabytes(limit)}")
        if content_type == "multipart/form-data" and not announced:
            raise LengthRequired("a multipart upload needs a Content-Length header; or send a raw image/jpeg "
                                 "or image/png body, which may be chunked")
        if content_type == "multipart/form-data":
            upload = request.data.get("image")
            if upload is None or not hasattr(upload, "read"):
                raise InvalidImage(f"no file in the field 'image': send {ACCEPTED}")
            if upload.size > limit:
                raise ImageTooLarge(f"the image is {_megabytes(upload.size)}; the limit is {_megabytes(limit)}")
            data = upload.read()
        elif announced:
            data = request.data if isinstance(request.data, bytes) else b""
        else:  # chunked: the length is known once read; read one byte past the limit to tell
            data = request._request.read(limit + 1)
        if not data:
            raise InvalidImage(f"empty image: send {ACCEPTED}")
        if len(data) > limit:
            raise ImageTooLarge(f"the image is {_megabytes(len(data))}; the limit is {_megabytes(limit)}")
        return data
