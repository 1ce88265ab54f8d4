"""The faces to hide in each frame of a clip being copied, found as the frames are decoded.

`rushes.media.faces` finds faces in one picture and says which detections count; this decides
which frames are searched and how (a big picture enlarged in every few frames, at the usual
width in the others, small faces of the frame before followed into each: `Detector.every`,
`follow`), believes a small face newly seen only if it still looks like one enlarged, and
follows a small face's first sure sighting back through the frames before it, up to `BACK_S`.
Those frames must still be unencoded then, so the copy holds `FaceTrack.waiting` frames back
before it encodes one.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import av
import cv2
import numpy as np

from rushes.media.faces import (
    BACK_S,
    DETECT_AREA,
    DETECT_WIDTH,
    FOLLOW_SCORE,
    FOLLOW_UNDER,
    GAP_S,
    HOLD_S,
    THRESHOLD,
    Box,
    Detector,
    Face,
    boxes_at,
    confirmed,
    distinct,
    follow,
    moved,
)
from rushes.media.proxy import Orientation

#: The I420 picture of a frame still waiting to be encoded, None once it has been.
Unencoded = Callable[[int], np.ndarray | None]


class FaceTrack:
    """Faces of one clip's frames, given in order, in pixels of the copy (``size``, upright);
    ``rate`` is its frame rate and ``every`` how often to search (None: as often as the
    detector's budget allows)."""

    def __init__(
        self, detect: Detector, size: tuple[int, int], rate: float, every: int | None
    ) -> None:
        self.detect, self.size = detect, size
        self.found: dict[int, list[Face]] = {}  # searched frame -> what the detector gave
        self.kept: dict[int, list[Face]] = {}  # searched frame -> its faces that count
        self.sure = 0  # frames before this one have their faces in `kept`
        self.taken = 0  # frames given so far (the encoded ones and those waiting)
        self.coarse: int | None = None  # the width the frames between are searched at
        self._pace(rate, every)

    def _pace(self, rate: float, asked: int | None) -> None:
        """How often faces are searched for (as asked, else as often as the detector's budget
        allows at this size, with a quicker search of the frames between) and how far they are
        followed, in frames."""
        width, height = self.size
        every = asked
        if every is None:
            every = self.detect.every(width, height)
            # The frames between searched at about the usual area (faces moving fast), unless
            # that is no quicker (a tall picture is searched whole at DETECT_WIDTH).
            coarse = min(DETECT_WIDTH, round(math.sqrt(DETECT_AREA * width / height)))
            if every > 1 and coarse < self.detect.search_width(width):
                self.coarse = coarse
            elif every > 1:
                every = 1
        self.every = max(1, every or 1)
        self.hold = max(self.every, math.ceil(HOLD_S * rate))
        self.gap = max(self.every, math.ceil(GAP_S * rate))
        self.back = math.ceil(BACK_S * rate)
        #: Frames the copy holds back before encoding one, so its faces are known.
        self.waiting = max(self.hold, self.gap, self.back) + self.gap

    def see(self, frame: av.VideoFrame, orientation: Orientation, unencoded: Unencoded) -> None:
        """Search the next frame, then settle the frames whose next `gap` frames are known."""
        if self.taken % self.every == 0:
            width = self.detect.search_width(self.size[0])
            self.found[self.taken] = self._search(frame, orientation, width)
        else:
            self.found[self.taken] = self._between(frame, orientation)
        self.taken += 1
        self._confirm(self.taken - self.gap, unencoded)

    def finish(self, unencoded: Unencoded) -> None:
        """Settle the last frames, now that the clip has ended."""
        self._confirm(self.taken, unencoded)

    def faces(self, index: int) -> list[Box]:
        """The boxes to hide in frame ``index``, asked in order as frames are encoded; what no
        later frame needs is forgotten, so memory stays flat on long clips."""
        found = boxes_at(index, self.kept, self.hold, self.gap)
        self.kept.pop(index - max(self.hold, self.gap), None)
        self.found.pop(index - max(self.hold, self.gap) - self.gap, None)
        return found

    def _confirm(self, until: int, unencoded: Unencoded) -> None:
        """Decide which detections count in the frames before ``until`` (the frames up to
        ``gap`` after them known)."""
        for index in range(self.sure, until):
            if index in self.found:
                faces = confirmed(index, self.found, self.gap)
                self.kept[index] = [f for f in faces if self._believed(f, index, unencoded)]
                self._look_back(index, unencoded)
        self.sure = max(self.sure, until)

    def _look_back(self, index: int, unencoded: Unencoded) -> None:
        """Follow each small face first seen in frame ``index`` back through the frames still
        waiting to be encoded, as long as it is found there: it was in them before it scored
        enough to be believed."""
        for face in self.kept[index]:
            if face.y1 - face.y0 >= FOLLOW_UNDER or self._seen_before(face, index):
                continue
            seed = face
            for before in range(index - 1, index - self.back - 1, -1):
                yuv = unencoded(before)
                if yuv is None:
                    break
                picture = cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420)
                found = moved(seed, follow(self.detect, picture, [seed]), 10)
                if found is None:
                    break
                self.kept[before].append(found)
                seed = found

    def _believed(self, face: Face, index: int, unencoded: Unencoded) -> bool:
        """Whether a detection counts: a big one does, and so does a small one where a face
        that counted was a moment before; a small one newly seen only if the detector, shown it
        enlarged as `follow` shows it, takes it for a face there too (`THRESHOLD`). Texture (a
        coin, an engine's parts) can score as a small face in the whole picture; seen closer,
        it does not, where a small face scores higher."""
        if face.y1 - face.y0 >= FOLLOW_UNDER or self._seen_before(face, index):
            return True
        yuv = unencoded(index)
        if yuv is None:
            return True
        picture = cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420)
        again = moved(face, follow(self.detect, picture, [face]), 0)
        return again is not None and again.score >= THRESHOLD

    def _seen_before(self, face: Face, index: int) -> bool:
        return any(
            moved(face, self.kept.get(before, ()), index - before) is not None
            for before in range(index - 1, index - self.gap - 1, -1)
        )

    def _search(self, frame: av.VideoFrame, orientation: Orientation, width: int) -> list[Face]:
        """The faces in ``frame``, in pixels of the copy: the detector is given the picture
        already at the ``width`` it searches, scaled once from the decoded one."""
        w, h = self.size
        height = max(2, round(h * width / w))
        found = self.detect.search(orientation.upright_rgb(frame, width, height))
        return [f.mapped(w / width, h / height) for f in found]

    def _between(self, frame: av.VideoFrame, orientation: Orientation) -> list[Face]:
        """The faces in a frame between two big searches: searched at the usual width (a face
        big enough for it, new or moving fast) and the small faces of the frame before followed
        into this one (`follow`)."""
        found = self._search(frame, orientation, self.coarse) if self.coarse else []
        seeds = [f for f in self.found.get(self.taken - 1, ()) if f.score >= FOLLOW_SCORE]
        if not seeds:
            return found
        picture = orientation.upright_rgb(frame, *self.size)
        return distinct([*found, *follow(self.detect, picture, seeds)])
