"""A share copy made on one CPU, as a small laptop or a pinned worker makes it: prints, as JSON,
what the whole-picture search takes for a face in its last frame, and the share of the copy
hidden for faces (tests/media/test_faces.py). Pinned before OpenCV loads, so its network
runs on one thread, where it computes a little differently.

    python -m tests.media.one_cpu_copy SOURCE FOLDER
"""

import json
import os
import sys
from pathlib import Path

os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

from rushes.media.faces import THRESHOLD, detector  # noqa: E402
from rushes.media.redact import redact  # noqa: E402
from tests.evalset.copies import Master, master  # noqa: E402
from tests.evalset.sources import sources  # noqa: E402
from tests.faces import decoded  # noqa: E402

name, folder = sys.argv[1], Path(sys.argv[2])
source = next(s for half in ("tune", "eval") for s in sources(half) if s.name == name)
clip = master(source, folder, Master(seconds=2.0))
last = decoded(clip.path)[-1]
taken = [f.box for f in detector()(last) if f.score >= THRESHOLD]
copy = redact(clip.path, folder / "copy.mp4", detect=detector())
print(json.dumps({"frames": copy.frames, "taken": taken, "hidden": copy.face_area}))
