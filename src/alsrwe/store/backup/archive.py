"""The backup file on disk: written beside its name and renamed into place, read back checked.

A backup is never visible half-written: it is written to a hidden temporary file in the same
folder (``.NAME.*.partial``), flushed to disk and renamed over ``NAME`` in one step. A process
killed before the rename leaves at most that temporary file, never a partial ``NAME``.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO

from alsrwe.store.backup.manifest import MANIFEST_NAME, BackupRefused, Manifest

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX: fsync the directory)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_atomically(file: Path, write: Callable[[IO[bytes]], None],
                     before_rename: Callable[[], None] | None = None) -> None:
    """Write ``file`` through a temporary file beside it, fsync it, then rename it into place.

    ``before_rename`` runs once the content is on disk and can still refuse (raise): the
    temporary file is then removed and ``file`` is left as it was.
    """
    descriptor, temporary = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.",
                                             suffix=".partial")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if before_rename is not None:
            before_rename()
        os.replace(temporary, file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fsync_folder(file.parent)


def write_backup(file: Path, manifest: Manifest, payload: Path,
                 before_rename: Callable[[], None] | None = None) -> None:
    """Write the tar (manifest first, then the payload) atomically to ``file`` (mode 0600)."""
    def write(handle: IO[bytes]) -> None:
        now = time.time()
        with tarfile.open(fileobj=handle, mode="w", format=tarfile.PAX_FORMAT) as tar:
            raw = manifest.to_json()
            info = tarfile.TarInfo(MANIFEST_NAME)
            info.size, info.mtime, info.mode = len(raw), now, 0o600
            tar.addfile(info, io.BytesIO(raw))
            info = tarfile.TarInfo(manifest.payload_name)
            info.size, info.mtime, info.mode = payload.stat().st_size, now, 0o600
            with payload.open("rb") as content:
                tar.addfile(info, content)

    write_atomically(file, write, before_rename)


class BackupArchive:
    """A backup file opened for restoring: its manifest, and its payload checked on the way out.

    Members are only read by name, never extracted by their own paths.
    """

    def __init__(self, file: Path) -> None:
        self.file = file
        self._source = str(file)
        try:
            self._tar = tarfile.open(file, mode="r:")  # noqa: SIM115 (closed by __exit__)
        except (tarfile.TarError, EOFError):
            raise BackupRefused(f"{file}: not an alsrwe backup (not a tar file)") from None
        try:
            self.manifest = Manifest.from_json(self._read(MANIFEST_NAME, 1 << 20), str(file))
        except BaseException:
            self._tar.close()
            raise

    def __enter__(self) -> BackupArchive:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._tar.close()

    def _member(self, name: str) -> IO[bytes]:
        try:
            member = self._tar.getmember(name)
            handle = self._tar.extractfile(member) if member.isfile() else None
        except (KeyError, tarfile.TarError, EOFError):
            handle = None
        if handle is None:
            raise BackupRefused(f"{self._source}: not an alsrwe backup (no {name})")
        return handle

    def _read(self, name: str, limit: int) -> bytes:
        try:
            return self._member(name).read(limit)
        except (tarfile.TarError, EOFError, OSError) as error:
            raise BackupRefused(f"{self._source}: damaged backup ({name}: {error})") from None

    def extract_payload(self, destination: Path) -> None:
        """Copy the payload to ``destination`` and check it against the manifest's sha256.

        A payload that does not match (tampered or damaged) is removed again and refused.
        """
        manifest = self.manifest
        digest, size = hashlib.sha256(), 0
        source = self._member(manifest.payload_name)
        try:
            with destination.open("wb") as out:
                while block := source.read(CHUNK):
                    digest.update(block)
                    size += len(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
        except (tarfile.TarError, EOFError) as error:
            destination.unlink(missing_ok=True)
            raise BackupRefused(f"{self._source}: damaged backup ({error})") from None
        if digest.hexdigest() != manifest.payload_sha256 or size != manifest.payload_bytes:
            destination.unlink(missing_ok=True)
            raise BackupRefused(
                f"{self._source}: the payload does not match its manifest (sha256 "
                f"{digest.hexdigest()[:12]}…, {size} bytes; the manifest says "
                f"{manifest.payload_sha256[:12]}…, {manifest.payload_bytes} bytes): the file "
                "was changed or damaged; nothing was restored")


__all__ = ["BackupArchive", "fsync_folder", "sha256_file", "write_atomically", "write_backup"]
