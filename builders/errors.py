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
