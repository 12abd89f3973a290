"""POST /api/videos/ (upload a video to analyse) and GET /api/videos/[{session}/] (progress, results)."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from emotions import video_selectors, video_services
from emotions.api.serializers import ErrorSerializer
from emotions.api.video_serializers import VideoAnalysisSerializer, VideoUploadSerializer
from emotions.models import VideoAnalysis
from emotions.recognition.video import VideoError

MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and the option fields around the file


class VideoRefused(APIException):
    """A refused video: 400 with the reason, or 413 for one over the size limit."""

    default_detail = _("The video cannot be analysed.")

    def __init__(self, detail: str, *, too_large: bool = False) -> None:
        self.status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE if too_large else status.HTTP_400_BAD_REQUEST
        super().__init__(detail, code="video_too_large" if too_large else "invalid_video")


class VideoListView(generics.ListCreateAPIView):
    serializer_class = VideoAnalysisSerializer
    parser_classes = [MultiPartParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return VideoAnalysis.objects.none()
        return video_selectors.user_videos(user=self.request.user)

    @extend_schema(summary="Your video analyses, newest first")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Upload a video to analyse",
        description=("Multipart with the file in the field `video` and the options. The file may be at most "
                     "`VIDEO_MAX_BYTES` (413 above). It is checked at once (400 for not a video, truncated, "
                     "no video stream, no frames, too long or too many pixels) and analysed in the background: "
                     "poll `GET /api/videos/{session}/` for `state` and `progress`; the detections are then "
                     "those of `/api/sessions/{session}/`."),
        request={"multipart/form-data": VideoUploadSerializer},
        # 400 (a refused video, or a missing or invalid field: DRF's validation shape) is documented
        # for every operation with a body by fer_site.openapi.
        responses={202: VideoAnalysisSerializer,
                   413: OpenApiResponse(ErrorSerializer, description="more bytes than the limit")},
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        limit = video_services.video_max_bytes()
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit + MULTIPART_OVERHEAD:  # refuse before the body is read
            raise VideoRefused(f"the request body is {length:,} bytes; the video limit is {limit:,} bytes",
                               too_large=True)
        upload = VideoUploadSerializer(data=request.data)
        if not upload.is_valid():
            raise ValidationError(upload.errors)
        data = upload.validated_data
        try:
            options = video_services.VideoOptions(every=data["every"], max_seconds=data["max_seconds"],
                                                  keep_file=data["keep_file"])
            analysis = video_services.receive_video(user=request.user, upload=data["video"], options=options)
        except video_services.VideoTooLarge as error:
            raise VideoRefused(str(error), too_large=True) from error
        except VideoError as error:
            raise VideoRefused(str(error)) from error
        return Response(VideoAnalysisSerializer(analysis).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(summary="One of your video analyses: its state and progress")
class VideoDetailView(generics.RetrieveAPIView):
    serializer_class = VideoAnalysisSerializer

    def get_object(self) -> VideoAnalysis:
        analysis = video_selectors.user_video(user=self.request.user, session_id=self.kwargs["session_id"])
        if analysis is None:
            raise Http404("No such video")
        return analysis
