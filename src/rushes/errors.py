"""One exception tree. Each error says which file, what went wrong and what to do."""

from __future__ import annotations

import errno


class RushesError(Exception):
    """Base of every error rushes raises on purpose."""


class ConfigError(RushesError):
    """A setting has a value rushes cannot use."""


class VaultError(RushesError):
    """The vault could not store or read an original."""


class VaultFullError(VaultError):
    """The disk under the vault is full; nothing partial was kept."""


class SourceChangedError(VaultError):
    """The source file changed or vanished while it was being read."""


class NotFoundError(RushesError):
    """No asset, project or event has that name."""


class ProbeError(RushesError):
    """A file could not be analysed as media. The original is still preserved."""


class CustodyError(RushesError):
    """The custody chain does not verify."""


def os_reason(exc: OSError) -> str:
    """A short, plain reason for an operating-system error on a source file."""
    return {
        errno.ENOENT: "does not exist (or a broken symlink)",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ELOOP: "symlink loop",
        errno.EIO: "input/output error (failing card or disk?)",
    }.get(exc.errno or 0, exc.strerror or str(exc))
