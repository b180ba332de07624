"""Domain exceptions: every error says what was expected, what came, and how to fix it."""

from __future__ import annotations


class GBHubError(Exception):
    """Base class of the errors `gbhub` reports as one line (no traceback)."""


class CoordinateTableError(GBHubError, ValueError):
    """A coordinate table is malformed: names the file, the row and the fix."""


class GenomeReferenceError(GBHubError, ValueError):
    """A reference genome is missing, of the wrong assembly, or lacks a contig."""


class ChecksumError(GBHubError):
    """A file's checksum differs from the pinned or published one."""


class DownloadError(GBHubError):
    """A download failed or was interrupted; the partial file is kept for resuming."""


class EmptySplitError(GBHubError, ValueError):
    """A split plan leaves a published split without rows (`datasets` cannot load an empty split)."""


class UnknownBenchmarkError(GBHubError, KeyError):
    """A benchmark or reference key that the registry does not know."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class PreparedReferenceError(GenomeReferenceError):
    """A prepared reference folder is damaged (size or checksum differs, index unreadable); names the folder."""


class FolderLockedError(GBHubError):
    """Another gbhub process is writing the same folder; names the holder (pid, host, command)."""


class OutputWriteError(GBHubError):
    """Writing a file failed (disk full, read-only, file too large, no permission): names the path and the fix."""


def os_error_message(err: OSError, path=None) -> str:
    """One line for an `OSError` that names the path and a fix (disk full, read-only, too large, permission).

    Args:
        err: the error; `err.filename` names the path when the OS knew it.
        path: the file or folder being written, used when `err` does not name one.
    """
    import errno as _errno

    where = err.filename or path
    reason = err.strerror or str(err) or type(err).__name__
    if "Detail: [errno" in reason:  # pyarrow: "Error writing bytes to file. Detail: [errno 27] File too large"
        reason = reason.split("Detail: ", 1)[1].split("] ", 1)[-1]
    reason = " ".join(reason.split())
    fixes = {
        _errno.ENOSPC: "free space on that disk or write somewhere else (--out / --cache-dir)",
        _errno.EDQUOT: "free space within your quota or write somewhere else",
        _errno.EROFS: "the file system is read-only: write somewhere else (--out / --cache-dir)",
        _errno.EACCES: "you may not write there: fix its permissions or write somewhere else",
        _errno.EPERM: "you may not write there: fix its permissions or write somewhere else",
        _errno.EFBIG: "the file is too large for that file system (or `ulimit -f`): write somewhere else",
        _errno.ENOTDIR: "a path component is a file, not a folder: choose another path",
        _errno.EISDIR: "that path is a folder, not a file: choose another path",
    }
    code = err.errno
    if code is None:  # pyarrow puts the errno in the text only
        for number in (_errno.ENOSPC, _errno.EFBIG, _errno.EROFS, _errno.EACCES, _errno.EDQUOT):
            if f"errno {number}]" in str(err).lower():
                code = number
                break
    fix = fixes.get(code, "check the path, its permissions and the free space")
    return f"cannot write {where}: {reason}; {fix}" if where else f"{reason}; {fix}"


class PlanError(GBHubError, ValueError):
    """A split plan is malformed (rows of a split not contiguous, unknown split, missing column)."""
