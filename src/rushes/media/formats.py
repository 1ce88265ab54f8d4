"""Friendly names for file formats: "MP4" or "QuickTime", not FFmpeg's "mov,mp4,m4a,3gp,3g2,mj2".

The catalog keeps the demuxer's name (or Pillow's, for photos) as probed; pages and the CLI
show `friendly(...)`. One demuxer reads several formats (MP4 and QuickTime, Matroska and
WebM): the file's extension, when known, says which.
"""

from __future__ import annotations

from pathlib import PurePosixPath

_NAMES = {
    "avi": "AVI",
    "asf": "Windows Media",
    "mpegts": "MPEG-TS",
    "mpeg": "MPEG-PS",
    "flv": "Flash Video",
    "mxf": "MXF",
    "dv": "DV",
    "h264": "H.264 stream",
    "hevc": "HEVC stream",
    "wav": "WAV",
    "mp3": "MP3",
    "aac": "AAC",
    "flac": "FLAC",
    "ogg": "Ogg",
    "amr": "AMR",
    "jpeg": "JPEG",
    "jpeg_pipe": "JPEG",
    "mjpeg": "JPEG",
    "mpo": "JPEG (MPO)",
    "png": "PNG",
    "png_pipe": "PNG",
    "webp": "WebP",
    "webp_pipe": "WebP",
    "gif": "GIF",
    "tiff": "TIFF",
    "tiff_pipe": "TIFF",
    "bmp": "BMP",
    "bmp_pipe": "BMP",
    "heif": "HEIF",
    "avif": "AVIF",
}
# Demuxers that read several formats: the extension picks one, else the first is the usual.
_FAMILIES = {
    "mov,mp4,m4a,3gp,3g2,mj2": (
        "MP4",
        {".mov": "QuickTime", ".qt": "QuickTime", ".m4a": "M4A", ".3gp": "3GP", ".3g2": "3G2"},
    ),
    "matroska,webm": ("Matroska", {".webm": "WebM"}),
    "image2": (
        "picture",
        {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF"},
    ),
}


def friendly(container: str | None, path: str = "") -> str:
    """A name a person knows for the probed format; an unknown one is shown as it is."""
    if not container:
        return ""
    name = container.strip().lower()
    if name in _FAMILIES:
        usual, by_suffix = _FAMILIES[name]
        return by_suffix.get(PurePosixPath(path.replace("\\", "/")).suffix.lower(), usual)
    return _NAMES.get(name, container)
