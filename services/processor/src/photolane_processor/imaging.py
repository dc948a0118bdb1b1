"""Image transforms, pure: bytes in, images and bytes out. No AWS, no faces."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageOps

from . import jpeg

pillow_heif.register_heif_opener()

# Source format → (output format, content type, extension). Browsers cannot show HEIC: JPEG instead.
OUTPUT_FORMATS: dict[str, tuple[str, str, str]] = {
    "JPEG": ("JPEG", "image/jpeg", "jpg"),
    "PNG": ("PNG", "image/png", "png"),
    "WEBP": ("WEBP", "image/webp", "webp"),
    "HEIF": ("JPEG", "image/jpeg", "jpg"),
}


class UnreadableImage(ValueError):
    """The bytes cannot be decoded as an image; retrying will not help."""


@dataclass(frozen=True)
class Rendition:
    data: bytes
    content_type: str
    extension: str


def open_oriented(data: bytes) -> tuple[Image.Image, str]:
    """Decode fully and apply the EXIF orientation; returns the upright image and its format."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            source_format = image.format or "JPEG"
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise UnreadableImage(f"the image cannot be decoded ({exc})") from exc
    return upright, source_format


@dataclass(frozen=True)
class Decoded:
    """One decode of an original, upright, at least ``work_px`` long when the original is."""

    image: Image.Image  # upright; for a large JPEG a DCT-scaled (1/2, 1/4, 1/8) decode
    source_format: str
    orientation: int  # the EXIF orientation of the original (1 when none)
    size: tuple[int, int]  # the upright original's full size
    icc_profile: bytes | None

    @property
    def scale(self) -> float:
        """work pixels per original pixel"""
        return self.image.width / self.size[0]


def decode_for_work(data: bytes, work_px: int) -> Decoded:
    """Decode once, as small as the work allows: JPEG decoders can scale by 1/2, 1/4, 1/8 for free."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            source_format = image.format or "JPEG"
            orientation = int(image.getexif().get(0x0112, 1) or 1)
            width, height = image.size
            if source_format == "JPEG" and max(width, height) > work_px:
                ratio = work_px / max(width, height)
                image.draft(image.mode, (max(1, int(width * ratio)), max(1, int(height * ratio))))
            icc = image.info.get("icc_profile")
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise UnreadableImage(f"the image cannot be decoded ({exc})") from exc
    size = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    return Decoded(upright, source_format, orientation, size, icc)


Rect = tuple[int, int, int, int]  # left, top, right, bottom (exclusive)

# What exif_transpose does for each EXIF orientation.
UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
           5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}


def to_upright(rect: Rect, orientation: int, stored: tuple[int, int]) -> Rect:
    """A rectangle of the stored pixels, in the upright image's coordinates."""
    x0, y0, x1, y1 = rect
    w, h = stored
    return {
        1: (x0, y0, x1, y1), 2: (w - x1, y0, w - x0, y1), 3: (w - x1, h - y1, w - x0, h - y0),
        4: (x0, h - y1, x1, h - y0), 5: (y0, x0, y1, x1), 6: (h - y1, x0, h - y0, x1),
        7: (h - y1, w - x1, h - y0, w - x0), 8: (y0, w - x1, y1, w - x0),
    }[orientation]


def to_stored(rect: Rect, orientation: int, stored: tuple[int, int]) -> Rect:
    """A rectangle of the upright image, in the stored pixels' coordinates."""
    u0, v0, u1, v1 = rect
    w, h = stored
    return {
        1: (u0, v0, u1, v1), 2: (w - u1, v0, w - u0, v1), 3: (w - u1, h - v1, w - u0, h - v0),
        4: (u0, h - v1, u1, h - v0), 5: (v0, u0, v1, u1), 6: (v0, h - u1, v1, h - u0),
        7: (w - v1, h - u1, w - v0, h - u0), 8: (w - v1, u0, w - v0, u1),
    }[orientation]


def full_size_regions(data: bytes, decoded: Decoded, rects: list[Rect]) -> list[tuple[Image.Image, Rect]] | None:
    """Upright full-resolution crops of a JPEG, each decoded alone (lossless crop first), with the
    upright rectangle each covers. None when the JPEG cannot be cut so (the caller decodes it all)."""
    if decoded.source_format != "JPEG":
        return None
    turned = decoded.orientation in (5, 6, 7, 8)
    stored = (decoded.size[1], decoded.size[0]) if turned else decoded.size
    regions = []
    for rect in rects:
        x0, y0, x1, y1 = to_stored(rect, decoded.orientation, stored)
        x0, y0 = max(0, x0) // jpeg.ALIGN * jpeg.ALIGN, max(0, y0) // jpeg.ALIGN * jpeg.ALIGN
        regions.append((x0, y0, min(stored[0], x1) - x0, min(stored[1], y1) - y0))
    pieces = jpeg.crops(data, regions)
    if pieces is None:
        return None
    out = []
    for piece, (x0, y0, _, _) in zip(pieces, regions, strict=True):
        with Image.open(io.BytesIO(piece)) as image:
            image.load()
            width, height = image.size
            upright = image.transpose(UPRIGHT[decoded.orientation]) if decoded.orientation in UPRIGHT else image.copy()
        out.append((upright, to_upright((x0, y0, x0 + width, y0 + height), decoded.orientation, stored)))
    return out


def mirrored(image: Image.Image) -> Image.Image:
    """The horizontal mirror (left ↔ right)."""
    return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB, with any transparency laid on white."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def thumbnail(image: Image.Image, long_side: int) -> Image.Image:
    """A copy whose long side is at most ``long_side`` (never enlarged)."""
    small = to_rgb(image).copy()
    small.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    return small


def downscaled(image: Image.Image, long_side: int) -> tuple[Image.Image, float]:
    """An RGB copy whose long side is at most ``long_side``, and the scale applied."""
    rgb = to_rgb(image)
    scale = min(1.0, long_side / max(rgb.size))
    if scale == 1.0:
        return rgb, 1.0
    size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
    return rgb.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0), scale


def encode(image: Image.Image, source_format: str, quality: int = 92) -> Rendition:
    """Encode in the source's format (HEIC as JPEG), keeping the colour profile, dropping EXIF."""
    fmt, content_type, extension = OUTPUT_FORMATS.get(source_format, OUTPUT_FORMATS["JPEG"])
    if fmt == "JPEG" and image.mode not in ("RGB", "L", "CMYK"):
        image = to_rgb(image)
    options: dict[str, object] = {}
    if icc := image.info.get("icc_profile"):
        options["icc_profile"] = icc
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = quality
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return Rendition(out.getvalue(), content_type, extension)


def encode_jpeg(image: Image.Image, quality: int = 85) -> Rendition:
    return encode(to_rgb(image), "JPEG", quality)


FACE_PX = 160  # a face's picture: square, this many pixels a side


def face_picture(image: Image.Image, box: tuple[int, int, int, int], scale: float = 1.0) -> bytes:
    """A square JPEG around one face (``box`` in full-size pixels, ``image`` at ``scale`` of full size),
    with room around it, as a person would frame it."""
    top, right, bottom, left = (v * scale for v in box)
    half = max(right - left, bottom - top, 2) * 0.8
    cx, cy = (left + right) / 2, (top + bottom) / 2
    # Square where the image allows; cut by its edges where it does not.
    area = (max(0, round(cx - half)), max(0, round(cy - half)),
            min(image.width, round(cx + half)), min(image.height, round(cy + half)))
    if area[2] <= area[0] or area[3] <= area[1]:
        area = (0, 0, image.width, image.height)  # a box outside the image: the whole of it
    piece = to_rgb(image.crop(area))
    piece.thumbnail((FACE_PX, FACE_PX), Image.Resampling.LANCZOS)
    return encode(piece, "JPEG", 85).data
