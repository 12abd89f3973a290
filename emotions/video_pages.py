"""The "Analyse a video" page: upload a video, watch the analyses progress (the page polls the API)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from emotions import video_selectors, video_services
from emotions.recognition.video import VideoError

RECENT_VIDEOS = 20


class VideoUploadForm(forms.Form):
    video = forms.FileField(help_text="MP4, MOV, WebM, MKV or AVI")
    every = forms.IntegerField(min_value=1, max_value=1000, initial=1, label="Analyse every Nth frame")
    max_seconds = forms.FloatField(min_value=0.001, required=False, label="Maximum duration (seconds)",
                                   help_text="empty: the whole video")
    keep_file = forms.BooleanField(required=False, label="Keep the file on the server after the analysis")


@login_required
def videos(request: HttpRequest) -> HttpResponse:
    form = VideoUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            options = video_services.VideoOptions(every=data["every"], max_seconds=data["max_seconds"],
                                                  keep_file=data["keep_file"])
            video_services.receive_video(user=request.user, upload=data["video"], options=options)
        except VideoError as error:
            form.add_error("video", str(error))
        else:
            return redirect("videos")
    return render(request, "emotions/videos.html", {
        "form": form, "videos": video_selectors.user_videos(user=request.user)[:RECENT_VIDEOS],
        "max_bytes": video_services.video_max_bytes(),
    })
