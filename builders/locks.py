"""Who is writing where: one writer per folder (lock files naming the holder) and scratch folders whose owner can die.

Both rest on `flock(2)`: the kernel drops a process's locks when it exits, however it exits (SIGKILL
included), so a lock held by a dead process is free again and the next writer takes it over; nothing
has to guess from a pid whether the holder still lives.

* `folder_lock(folder, command)`: the one-writer lock of an output folder (`<folder>/.gbhub.lock`). The file
  says who holds it (pid, host, command, start time) so that a second writer's error can name the holder.
  Re-entrant within a process (`gbhub build` holds it for the whole command; `write_config` takes it again).
* `scratch_dir(parent, prefix)`: a uniquely named temporary folder holding a locked `.owner` file for as
  long as its creator runs; `sweep_scratch(parent, pattern)` removes the ones whose owner died.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import shutil
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator

from gbhub.builders.errors import FolderLockedError, OutputWriteError, os_error_message

logger = logging.getLogger(__name__)

LOCK_FILE = ".gbhub.lock"
OWNER_FILE = ".owner"
# A scratch folder without an `.owner` file is one whose creator died between `mkdir` and creating the
# file (or one left by a gbhub version without owner files); it is removed once older than this.
UNOWNED_GRACE_S = 600.0

_held: dict[str, list] = {}  # resolved folder -> [fd, depth]: locks this process holds


def _holder_text(command: str | None) -> str:
    return json.dumps({
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:300],
        "since": time.strftime("%Y-%m-%d %H:%M:%S"),
    })


def _describe_holder(path: Path) -> str:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
        return (f"pid {holder['pid']} on {holder['host']} (`{holder['command']}`, since {holder['since']})")
    except (OSError, ValueError, KeyError, TypeError):
        return "another gbhub process"


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, command: str | None = None) -> Iterator[Path]:
    """Hold the one-writer lock of `folder` (created) for the `with` block.

    Args:
        folder: the output folder.
        command: what the holder is doing, shown to a second writer (default: this process's argv).

    Raises:
        FolderLockedError: another live process holds the lock (it names pid, host and command).
        OutputWriteError: the folder cannot be created or the lock file cannot be written.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputWriteError(f"{folder} is a file, not a folder: give a folder to write into")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputWriteError(os_error_message(err, folder)) from None
    key = str(folder.resolve())
    if key in _held:  # re-entrant: this process already writes the folder
        _held[key][1] += 1
        try:
            yield folder / LOCK_FILE
        finally:
            _held[key][1] -= 1
        return
    path = folder / LOCK_FILE
    fd = _acquire(path, command)
    _held[key] = [fd, 1]
    try:
        yield path
    finally:
        del _held[key]
        with contextlib.suppress(OSError):
            os.unlink(path)  # while still locked: a waiting process then sees a new inode and retries
        os.close(fd)  # releases the lock


def _acquire(path: Path, command: str | None) -> int:
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise OutputWriteError(os_error_message(err, path)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise OutputWriteError(os_error_message(err, path)) from None
            raise FolderLockedError(
                f"{path.parent} is being written by {_describe_holder(path)}; wait for it to finish, or "
                "write to another folder (one writer per folder)"
            ) from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if not same:  # the previous holder removed the file after we opened it: lock the new one
            os.close(fd)
            continue
        try:
            os.ftruncate(fd, 0)
            os.write(fd, _holder_text(command).encode())
        except OSError as err:
            os.close(fd)
            raise OutputWriteError(os_error_message(err, path)) from None
        return fd


def holds_lock(folder: str | os.PathLike) -> bool:
    """Whether this process holds the one-writer lock of `folder`."""
    return str(Path(folder).resolve()) in _held


# ------------------------------------------------------------------------------------------- scratch


@contextlib.contextmanager
def scratch_dir(parent: str | os.PathLike, prefix: str) -> Iterator[Path]:
    """A new folder `<parent>/<prefix><unique>` owned by this process for the `with` block, then removed.

    The folder holds `.owner`, locked while the block runs; after a crash `sweep_scratch` finds the
    lock free and removes the folder. Raises `OutputWriteError` when it cannot be created.
    """
    parent = Path(parent)
    path = parent / f"{prefix}{uuid.uuid4().hex[:12]}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        path.mkdir()
        fd = os.open(path / OWNER_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        shutil.rmtree(path, ignore_errors=True)
        raise OutputWriteError(os_error_message(err, path)) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, _holder_text(None).encode())
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)


def claim(path: Path) -> None:
    """Turn a finished scratch folder into a permanent one: drop its `.owner` file (before renaming it)."""
    with contextlib.suppress(FileNotFoundError):
        (Path(path) / OWNER_FILE).unlink()


def owner_alive(path: Path) -> bool:
    """Whether the process that created scratch folder `path` still runs (its `.owner` is locked)."""
    owner = Path(path) / OWNER_FILE
    try:
        fd = os.open(owner, os.O_RDONLY)
    except FileNotFoundError:
        try:  # no owner file: being created right now, or left by a crash between mkdir and open
            return time.time() - Path(path).stat().st_mtime < UNOWNED_GRACE_S
        except FileNotFoundError:
            return True  # already gone
    except OSError:
        return True  # cannot tell: leave it
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def sweep_scratch(parent: str | os.PathLike, pattern: str) -> list[Path]:
    """Remove the folders `parent/<pattern>` (a glob) whose owner died; return them. Never raises."""
    removed = []
    try:
        candidates = sorted(Path(parent).glob(pattern))
    except OSError:
        return removed
    for path in candidates:
        if path.is_dir() and not path.is_symlink() and not owner_alive(path):
            shutil.rmtree(path, ignore_errors=True)
            if not path.exists():
                removed.append(path)
                logger.info("removed %s, left by an interrupted gbhub run", path)
    return removed


# ------------------------------------------------------------------------------- small temporary files


def temp_file(path: str | os.PathLike) -> Path:
    """A unique temporary name next to `path` that says which process writes it (host and pid), so that
    `sweep_temp_files` can tell one left by a killed process from one being written right now."""
    path = Path(path)
    host = "".join(c for c in socket.gethostname() if c.isalnum() or c == "-")[:40] or "host"
    return path.with_name(f".{path.name}.{host}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def sweep_temp_files(folder: str | os.PathLike, pattern: str = ".*.tmp") -> None:
    """Remove `temp_file` leftovers in `folder` written on this host by processes that died. Never raises."""
    host = "".join(c for c in socket.gethostname() if c.isalnum() or c == "-")[:40] or "host"
    try:
        candidates = list(Path(folder).glob(pattern))
    except OSError:
        return
    for path in candidates:
        parts = path.name.rsplit(".", 4)  # [".<name>", host, pid, rand, "tmp"]
        if len(parts) == 5 and parts[1] == host and parts[2].isdigit() and not _pid_alive(int(parts[2])):
            with contextlib.suppress(OSError):
                path.unlink()
