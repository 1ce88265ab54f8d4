"""A complete upload taken in, as the tus server sees it (the intake itself: rushes.upload.intake).

The server keeps, per upload, the vault's digest of its bytes as they were written here, so the
intake need not read them again; says the vault's refusals as tus answers (the upload is kept,
the client asks HEAD again later); and finishes, in a thread at start, the intakes a crash
interrupted.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from anyio import CapacityLimiter, to_thread

from rushes.base import Base
from rushes.errors import StoreUnavailable, VaultError, VaultFullError
from rushes.upload.intake import finish
from rushes.upload.protocol import TusError
from rushes.upload.store import Upload
from rushes.upload.wrapping import STORE_RETRY_S
from rushes.vault import Digest

if TYPE_CHECKING:
    from rushes.upload.shared import SharedUploads

log = logging.getLogger(__name__)


class Completion:
    """The server's side of the intake, shared by its requests and its start."""

    def __init__(self, base: Base, shared: SharedUploads | None, threads: CapacityLimiter) -> None:
        self.base, self.shared, self.threads = base, shared, threads
        # Per upload, the vault's digest of `data` as it was when last written here (inode, size,
        # mtime): fed as the bytes are written, so the finished upload is not read again. Any
        # doubt (another process wrote since, a failed write, a restart) and the intake hashes
        # the file from disk.
        self.running: dict[str, tuple[tuple[int, int, int], Digest]] = {}

    def digest(self, upload: Upload, *, take: bool) -> Digest | None:
        """This process's digest of all of `data`, if nothing touched the file since it was
        fed; `take` removes it (a writer is about to feed it, and puts it back if all went
        well)."""
        known = self.running.pop(upload.id, None) if take else self.running.get(upload.id)
        return known[1] if known and known[0] == upload.signature() else None

    def keep(self, upload: Upload, digest: Digest | None) -> None:
        """Put back the digest a writer fed, tied to the file as it is now."""
        signature = upload.signature()
        if digest is not None and signature is not None:
            self.running[upload.id] = (signature, digest)

    def forget_gone(self, root: Path) -> None:
        """Drop the digests of uploads whose folder is gone (taken in, removed or expired)."""
        self.running = {k: v for k, v in self.running.items() if (root / k).is_dir()}

    async def settle(self, upload: Upload) -> None:
        """Take a complete upload in (idempotent; caller holds the lease)."""
        if upload.outcome() is not None or not upload.complete():
            return
        try:
            outcome = await to_thread.run_sync(
                finish, self.base, upload, self.digest(upload, take=False), limiter=self.threads
            )
        except VaultFullError as exc:
            raise TusError(507, f"{exc}; the upload is kept, ask HEAD again later") from exc
        except StoreUnavailable as exc:
            raise TusError(
                503,
                f"{exc}; the upload is kept, ask HEAD again later",
                {"Retry-After": STORE_RETRY_S},
            ) from exc
        except VaultError as exc:
            raise TusError(503, f"{exc}; the upload is kept, ask HEAD again later") from exc
        self.running.pop(upload.id, None)
        if self.shared is not None:
            await to_thread.run_sync(self.shared.conclude, upload.id, outcome, limiter=self.threads)
        if outcome.status == "rejected":
            raise TusError(422, outcome.reason)

    def finish_pending(self, pending: list[Upload]) -> None:
        """Intakes a crash interrupted finish in a thread, so the server starts at once."""
        if not pending:
            return

        def run() -> None:
            for upload in pending:
                lease = upload.lock()
                try:
                    if upload.outcome() is None and upload.complete():
                        finish(self.base, upload)
                except Exception:
                    log.exception("intake of upload %s failed; the next HEAD retries", upload.id)
                finally:
                    lease.release()

        threading.Thread(target=run, name="upload-intake", daemon=True).start()
