"""Open a file for decoding with one rule for errors, and say in plain words why it failed.

FFmpeg reports most failures as a bare errno ("Invalid data found when processing input",
even "Device or resource busy" for a header claiming an impossible picture size); the real
cause is in its log, which PyAV keeps off for speed. On a failure the file is opened once more
with the log captured, and the last error line is translated for the people reading it.
"""

from __future__ import annotations

import errno
import os
import re
from typing import Any

import av
import av.container
import av.logging

from rushes.errors import ProbeError
from rushes.i18n import N_

# Errors of the file itself (it is missing, unreadable, a folder), not of what is in it.
FILE_ERRNOS = frozenset(
    {errno.ENOENT, errno.EACCES, errno.EPERM, errno.EIO, errno.EISDIR, errno.ENOTDIR, errno.ELOOP}
)
_PICTURE_SIZE = re.compile(r"Picture size (\d+)x(\d+) is invalid")
# Marked (N_): a page shows a clip's reason in the reader's language.
_TRUNCATED_MP4 = N_(
    "truncated: the MP4 index (moov) is missing; the recording was cut off before the camera "
    "finished the file"
)
_PLAIN = {
    "Invalid data found when processing input": N_("not a media file (no format FFmpeg knows)"),
    "error reading header": N_("damaged: the file's index is cut short or corrupt"),
}


def open_input(path: str | os.PathLike[str], **options: Any) -> av.container.InputContainer:
    """A missing or unreadable file stays an OSError (a file problem); anything FFmpeg cannot
    read becomes a ProbeError saying why. The original is unchanged either way."""
    try:
        return av.open(os.fspath(path), **options)
    except av.FFmpegError as error:
        if isinstance(error, OSError) and error.errno in FILE_ERRNOS:
            raise
        reason = why_unreadable(path, error)
        raise ProbeError(f"{reason}: {path}", reason=reason) from error


def is_still(container: av.container.InputContainer) -> bool:
    """A photo or other single picture, which FFmpeg reads through an image demuxer."""
    name = container.format.name
    return name == "image2" or name.endswith("_pipe")


def why_unreadable(path: str | os.PathLike[str], error: av.FFmpegError) -> str:
    """The cause of a failed open in plain words, from FFmpeg's own log of a second try."""
    said = _last_logged_error(path) or getattr(error, "strerror", None) or str(error)
    found = _PICTURE_SIZE.search(said)
    if found:
        width, height = found.groups()
        return f"damaged header: it claims a {width}×{height} picture, which no decoder accepts"
    if said == "moov atom not found":  # a recording cut off still starts as an MP4 does
        return _TRUNCATED_MP4 if _starts_as_mp4(path) else "not a media file (no MP4 header)"
    return _PLAIN.get(said) or f"not a media file ({said})"


def _last_logged_error(path: str | os.PathLike[str]) -> str | None:
    # PyAV drops a message equal to the one before it, which would lose the cause of a second
    # file failing as the first did.
    level, skip = av.logging.get_level(), av.logging.get_skip_repeated()
    with av.logging.Capture(local=True) as logs:
        av.logging.set_level(av.logging.ERROR)
        av.logging.set_skip_repeated(False)
        try:
            av.open(os.fspath(path)).close()
        except (av.FFmpegError, OSError):
            pass
        finally:
            av.logging.set_level(level)
            av.logging.set_skip_repeated(skip)
    errors = [message.strip() for at, _name, message in logs if at <= av.logging.ERROR]
    return errors[-1] if errors else None


def _starts_as_mp4(path: str | os.PathLike[str]) -> bool:
    try:
        with open(path, "rb") as file:
            return file.read(8)[4:] == b"ftyp"
    except OSError:
        return False
