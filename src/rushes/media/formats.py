"""Friendly names for file formats: "MP4" or "QuickTime", not FFmpeg's "mov,mp4,m4a,3gp,3g2,mj2".

The catalog keeps the demuxer's name (or Pillow's, for photos) as probed; pages and the CLI
show `friendly(...)`. One demuxer reads several formats (MP4 and QuickTime, Matroska and
WebM): the file's extension, when known, says which. A copy handed out (a download, an
evidence bag's original) is named with `suffix(...)`: the card's extension where it fits the
probed format, else the format's own, so a video that arrived as "x.exe" leaves as ".mkv".
"""

from __future__ import annotations

import re
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


# Extensions of each format, the usual one first.
_SUFFIXES = {
    "mov,mp4,m4a,3gp,3g2,mj2": (".mp4", ".mov", ".qt", ".m4v", ".m4a", ".3gp", ".3g2", ".mj2"),
    "matroska,webm": (".mkv", ".webm", ".mka", ".mk3d"),
    "avi": (".avi",),
    "asf": (".wmv", ".asf", ".wma"),
    "mpegts": (".ts", ".mts", ".m2ts"),
    "mpeg": (".mpg", ".mpeg", ".vob"),
    "flv": (".flv",),
    "mxf": (".mxf",),
    "dv": (".dv",),
    "wav": (".wav",),
    "mp3": (".mp3",),
    "aac": (".aac",),
    "flac": (".flac",),
    "ogg": (".ogg", ".oga", ".ogv", ".opus"),
    "amr": (".amr",),
    "jpeg": (".jpg", ".jpeg"),
    "jpeg_pipe": (".jpg", ".jpeg"),
    "mjpeg": (".jpg", ".jpeg"),
    "mpo": (".mpo", ".jpg"),
    "png": (".png",),
    "png_pipe": (".png",),
    "webp": (".webp",),
    "webp_pipe": (".webp",),
    "gif": (".gif",),
    "tiff": (".tif", ".tiff"),
    "tiff_pipe": (".tif", ".tiff"),
    "bmp": (".bmp",),
    "heif": (".heic", ".heif"),
    "avif": (".avif",),
}
_PLAIN = re.compile(r"\.[a-z0-9]{1,10}")


def suffix(container: str | None, path: str = "") -> str:
    """The extension to name a copy of the file with: the path's own when it names the probed
    format (or the format is not known: a file that is not media keeps what it was called),
    else the format's usual one; lower case, "" when none fits."""
    own = PurePosixPath(path.replace("\\", "/")).suffix.lower()
    fitting = _SUFFIXES.get((container or "").strip().lower())
    if fitting and own not in fitting:
        return fitting[0]
    return own if _PLAIN.fullmatch(own) else ""
