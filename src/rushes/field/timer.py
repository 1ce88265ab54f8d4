"""`python -m rushes.field.timer HOME`: seal and end the kit's unlocked session when its time is
up, even if no command runs then. Started by `rushes field unlock`, it forks at once and its
first process exits, so the command is not its parent (no process is left to wait for it)."""

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    from rushes.field.session import wait_and_end

    wait_and_end(Path(sys.argv[1]))
