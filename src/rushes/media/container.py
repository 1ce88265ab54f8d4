"""Open a file for decoding with one rule for errors."""

from __future__ import annotations

import os
from typing import Any

import av
import av.container

from rushes.errors import ProbeError


def open_input(path: str | os.PathLike[str], **options: Any) -> av.container.InputContainer:
    """A missing or unreadable file stays an OSError (a file problem); anything FFmpeg cannot
    read becomes a ProbeError. The original is unchanged either way."""
    try:
        return av.open(os.fspath(path), **options)
    except OSError:  # PyAV's file errors are OSErrors as well as FFmpegErrors
        raise
    except av.FFmpegError as e:
        raise ProbeError(f"{path}: not readable as media ({e})") from e
