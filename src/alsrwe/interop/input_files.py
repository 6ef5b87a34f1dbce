"""The files an importer may open: regular files of bounded size, read as UTF-8 text.

An import names paths that a busy clinic typed or a script produced. A device (``/dev/zero``,
possibly behind a symlink) would be read until memory runs out and a FIFO would block for
ever, so only regular files are opened; a file above :data:`MAX_FILE_BYTES` is refused before
it is read. Both refusals are ``OSError`` subclasses, so every reader reports them like any
unreadable file: "cannot be read: …", naming the file, and nothing is written.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TextIO

MAX_FILE_BYTES = 4 * 1024**3
"""4 GiB: far above a national registry's tidy files (8,400 patients are 43 MB), far below
what would exhaust a server; ``ALSRWE_MAX_IMPORT_FILE_BYTES`` sets another bound."""


class RefusedFile(OSError):
    """A path an importer will not read (not a regular file, or too large)."""


def max_file_bytes() -> int:
    value = os.environ.get("ALSRWE_MAX_IMPORT_FILE_BYTES", "")
    return int(value) if value.isdigit() else MAX_FILE_BYTES


def checked_size(path: Path) -> int:
    """The size of ``path`` once it is known to be a regular file within the bound."""
    mode = os.stat(path)  # follows a symlink: what matters is what would be read
    if not stat.S_ISREG(mode.st_mode):
        raise RefusedFile("is not a regular file (a device, pipe or socket); give a file")
    limit = max_file_bytes()
    if mode.st_size > limit:
        raise RefusedFile(f"is {mode.st_size / 1e6:,.0f} MB; files above {limit / 1e6:,.0f} MB "
                          "are not imported (ALSRWE_MAX_IMPORT_FILE_BYTES)")
    return mode.st_size


def open_text(path: Path, *, newline: str | None = "") -> TextIO:
    """Open a checked file as UTF-8 text (a byte-order mark is skipped)."""
    checked_size(path)
    return path.open(newline=newline, encoding="utf-8-sig")


def bytes_read(handle: TextIO) -> int:
    """How far into its file ``handle`` has read (its buffer's position), for progress."""
    raw = getattr(getattr(handle, "buffer", None), "raw", None)
    return int(raw.tell()) if raw is not None else 0


__all__ = ["MAX_FILE_BYTES", "RefusedFile", "bytes_read", "checked_size", "max_file_bytes",
           "open_text"]
