"""One exception tree. Each error says which file, what went wrong and what to do."""

from __future__ import annotations

import errno

from rushes.i18n import N_, Text


class RushesError(Exception):
    """Base of every error rushes raises on purpose.

    A message people may read in a page is marked where it is raised, its values given apart:
    `InvalidInput(N_("a title has at most %(most)s characters"), most=200)`. str() is the
    English; `text` (an i18n.Text) is what a page translates.
    """

    def __init__(self, *args: object, **values: object) -> None:
        self.text = Text(str(args[0]) if args else "", **values)
        if values:
            args = (str(self.text), *args[1:])
        super().__init__(*args)


class ConfigError(RushesError):
    """A setting has a value rushes cannot use."""


class VaultError(RushesError):
    """The vault could not store or read an original."""


class VaultFullError(VaultError):
    """The disk under the vault is full; nothing partial was kept."""


class StoreUnavailable(VaultError, OSError):
    """The S3 store did not answer (no connection, a timeout, its own error): nothing was
    changed, and the same request can be tried again later."""


class SourceChangedError(VaultError):
    """The source file changed or vanished while it was being read."""


class BackupError(RushesError):
    """A backup could not be written, read or restored; nothing was overwritten."""


class NotFoundError(RushesError):
    """No asset, project or event has that name."""


class ProbeError(RushesError):
    """A file could not be analysed as media. The original is still preserved.

    `reason` is the cause without the file's path, for where the path must not be shown."""

    def __init__(self, message: str, *, reason: str | None = None, **values: object) -> None:
        super().__init__(message, **values)
        self.reason = reason or str(self)


class BadCopy(RushesError):
    """A copy just made of an original (a share copy, a preview) does not play back as it was
    written; it was not kept, so nothing was shared or shown."""


class OriginalDamaged(RushesError):
    """A stored original no longer matches its hash: nothing is made from it or sent on until
    `rushes verify` repairs it from a good copy."""


class CustodyError(RushesError):
    """The custody chain does not verify."""


class InvalidInput(RushesError):
    """A request or command gave a value rushes cannot accept; the message says which."""


class TooLarge(InvalidInput):
    """A request's body is over its limit, refused from its headers before it is read."""


class AccessDenied(RushesError):
    """Signed in, but this role may not do that."""


class LoginThrottled(RushesError):
    """Too many failed sign-ins for this name or address; try again later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(N_("too many failed sign-ins; try again in %(wait)s s"), wait=retry_after)
        self.retry_after = retry_after


def os_reason(exc: OSError) -> str:
    """A short, plain reason for an operating-system error on a source file."""
    return {
        errno.ENOENT: "does not exist (or a broken symlink)",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ELOOP: "symlink loop",
        errno.EIO: "input/output error (failing card or disk?)",
    }.get(exc.errno or 0, exc.strerror or str(exc))
