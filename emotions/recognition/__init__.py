"""The recognition core: image bytes in, faces with emotions out. Plain Python: no Django here,
and nothing from `training` but its shared class labels (`training.core.labels`); a model is
consumed as a `.tflite` file path."""

from emotions.recognition.classify import EmotionClassifier
from emotions.recognition.decode import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, decode_image
from emotions.recognition.detect import Box, FaceDetector, HaarFaceDetector, YuNetFaceDetector
from emotions.recognition.errors import InvalidImageError
from emotions.recognition.pipeline import FER_CROP_SCALE, FaceResult, RecognitionPipeline, StreamTracker, TrackedFace
from emotions.recognition.tracking import FaceTracks
from training.core.labels import EMOTIONS

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "EMOTIONS",
    "FER_CROP_SCALE",
    "Box",
    "EmotionClassifier",
    "FaceDetector",
    "FaceResult",
    "FaceTracks",
    "HaarFaceDetector",
    "InvalidImageError",
    "RecognitionPipeline",
    "StreamTracker",
    "TrackedFace",
    "YuNetFaceDetector",
    "decode_image",
]
