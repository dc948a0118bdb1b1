"""Face detection, pure: an image in, boxes in its own pixel coordinates out."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFile

from photolane_common.domain import Box

from .imaging import downscaled, to_rgb


class FaceEncoder:
    """The 128-value encoding of each face (dlib's ResNet on face_recognition's models)."""

    def __init__(self) -> None:
        import dlib
        import face_recognition.api as models

        ImageFile.LOAD_TRUNCATED_IMAGES = False  # see FaceDetector
        self._dlib = dlib
        self._landmarks = models.pose_predictor_5_point
        self._network = models.face_encoder

    def encode(self, image: Image.Image, boxes: list[Box]) -> list[np.ndarray]:
        return self.encode_many([(image, boxes)])[0]

    def encode_many(self, work: list[tuple[Image.Image, list[Box]]]) -> list[list[np.ndarray]]:
        """Faces of several images through the network in one batch (face_recognition sends them a
        face at a time); for each image, the encodings of its boxes, in order."""
        todo = [(np.asarray(to_rgb(image)), boxes) for image, boxes in work if boxes]
        shapes = [
            self._dlib.full_object_detections(
                [self._landmarks(pixels, self._dlib.rectangle(left, top, right, bottom))
                 for top, right, bottom, left in boxes]
            )
            for pixels, boxes in todo
        ]
        batches = iter(self._network.compute_face_descriptor([p for p, _ in todo], shapes, 1) if todo else [])
        return [[np.asarray(v, dtype=np.float32) for v in next(batches)] if boxes else [] for _, boxes in work]


class FaceDetector:
    """HOG detection on a downscaled copy, boxes mapped back to the full image."""

    def __init__(self, max_px: int = 1024, upsample: int = 1, model: str = "hog") -> None:
        import face_recognition  # heavy (dlib, models): loaded once, by the worker that needs it

        # face_recognition turns on Pillow's LOAD_TRUNCATED_IMAGES for the whole process, which would
        # pass a truncated upload off as a grey-filled photo. A truncated photo is a failed job.
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        self._locate = face_recognition.face_locations
        self._hog = face_recognition.api.face_detector  # dlib's HOG detector, for its scores
        self.max_px = max_px
        self.upsample = upsample
        self.model = model

    def detect(self, image: Image.Image) -> list[Box]:
        small, scale = downscaled(image, self.max_px)
        found = self._locate(np.asarray(small), number_of_times_to_upsample=self.upsample, model=self.model)
        boxes = [scale_box(box, scale, image.size) for box in found]
        return sorted(boxes, key=lambda b: (b[3], b[0]))  # left to right, then top to bottom

    def glance(self, image: Image.Image) -> list[float]:
        """The HOG score (how face-like: above 0 is a face to ``detect``) of each face found with one
        upsampling less than ``detect``: a quarter of the pixels, for a hint, not for the faces kept."""
        small, _ = downscaled(image, self.max_px)
        _, scores, _ = self._hog.run(np.asarray(to_rgb(small)), max(0, self.upsample - 1), 0)
        return [float(s) for s in scores]


def scale_box(box: Box, scale: float, size: tuple[int, int]) -> Box:
    """A (top, right, bottom, left) box found at ``scale``, in full-size pixels, inside the image."""
    width, height = size
    top, right, bottom, left = (round(v / scale) for v in box)
    return (max(0, top), min(width, right), min(height, bottom), max(0, left))
