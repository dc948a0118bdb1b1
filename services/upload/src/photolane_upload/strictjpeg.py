"""A JPEG decoded at 1/8 scale by libjpeg-turbo with every warning an error (Debian's libturbojpeg0).

Pillow's decoder lets libjpeg's warnings pass: a JPEG whose data ends early but carries an end
marker "decodes", its missing part grey. libjpeg-turbo's TJFLAG_STOPONWARNING refuses it, and
TJFLAG_LIMITSCANS refuses a progressive file of more than 500 scans. Without the library
(``available()`` is False) the caller keeps Pillow's decode alone.
"""

from __future__ import annotations

import ctypes

from photolane_common.turbojpeg import LIB as _TJ
from photolane_common.turbojpeg import LIMIT_SCANS, STOP_ON_WARNING

# TJCS_* colorspace of the JPEG → the TJPF_* pixel format it decodes to without conversion, and its bytes.
PIXELS = {2: (6, 1), 3: (11, 4), 4: (11, 4)}  # gray → TJPF_GRAY; CMYK, YCCK → TJPF_CMYK
RGB = (0, 3)  # TJPF_RGB for the rest (YCbCr, RGB)


def available() -> bool:
    return _TJ is not None


def problem(data: bytes) -> str | None:
    """What libjpeg-turbo finds wrong with the JPEG (its own words), or None when it decodes cleanly."""
    assert _TJ is not None, "check available() first"
    handle = _TJ.tjInitDecompress()
    if not handle:
        raise MemoryError("tjInitDecompress")
    try:
        width, height, subsampling, colorspace = (ctypes.c_int() for _ in range(4))
        if _TJ.tjDecompressHeader3(handle, data, len(data), ctypes.byref(width), ctypes.byref(height),
                                   ctypes.byref(subsampling), ctypes.byref(colorspace)) != 0:
            return _TJ.tjGetErrorStr2(handle).decode(errors="replace")
        scaled_w, scaled_h = (width.value + 7) // 8, (height.value + 7) // 8
        pixel_format, depth = PIXELS.get(colorspace.value, RGB)
        out = ctypes.create_string_buffer(scaled_w * scaled_h * depth)
        if _TJ.tjDecompress2(handle, data, len(data), out, scaled_w, 0, scaled_h, pixel_format,
                             STOP_ON_WARNING | LIMIT_SCANS) != 0:
            return _TJ.tjGetErrorStr2(handle).decode(errors="replace")
        return None
    finally:
        _TJ.tjDestroy(handle)
