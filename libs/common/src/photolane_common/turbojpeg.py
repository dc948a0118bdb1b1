"""libjpeg-turbo's TurboJPEG API through ctypes (Debian's libturbojpeg0), for the processor's lossless
transforms and the upload service's strict decode. ``LIB`` is None where the library is missing:
each caller then falls back to Pillow.
"""

from __future__ import annotations

import ctypes
import ctypes.util

# Flags (turbojpeg.h): a warning is an error; a progressive file of more than 500 scans is refused.
STOP_ON_WARNING = 1 << 13
LIMIT_SCANS = 1 << 14


class Region(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("w", ctypes.c_int), ("h", ctypes.c_int)]


class Transform(ctypes.Structure):
    _fields_ = [("r", Region), ("op", ctypes.c_int), ("options", ctypes.c_int), ("data", ctypes.c_void_p),
                ("customFilter", ctypes.c_void_p)]


def _declared(lib: ctypes.CDLL) -> ctypes.CDLL:
    handle, buffer, size = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ulong
    int_out = ctypes.POINTER(ctypes.c_int)
    lib.tjInitTransform.restype = handle
    lib.tjInitDecompress.restype = handle
    lib.tjDestroy.argtypes = [handle]
    lib.tjFree.argtypes = [ctypes.c_void_p]
    lib.tjGetErrorStr2.argtypes = [handle]
    lib.tjGetErrorStr2.restype = ctypes.c_char_p
    lib.tjTransform.argtypes = [handle, buffer, size, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p),
                                ctypes.POINTER(size), ctypes.POINTER(Transform), ctypes.c_int]
    lib.tjDecompressHeader3.argtypes = [handle, buffer, size, int_out, int_out, int_out, int_out]
    lib.tjDecompress2.argtypes = [handle, buffer, size, buffer, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                  ctypes.c_int, ctypes.c_int]
    return lib


def _load() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("turbojpeg")
    return _declared(ctypes.CDLL(name)) if name else None


LIB = _load()
