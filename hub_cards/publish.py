"""Publishing a local folder to the Hub in one atomic commit (datasets and model runs alike)."""

from __future__ import annotations

import fnmatch
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from huggingface_hub import CommitInfo, CommitOperationAdd, CommitOperationDelete, HfApi, get_token
from huggingface_hub import errors as hf_errors

from gbhub.builders.errors import GBHubError

logger = logging.getLogger(__name__)

SKIPPED_SUFFIXES = (".part", ".tmp", ".lock", ".incomplete", "~")
REPO_TYPES = ("dataset", "model")
_TOKEN_RE = re.compile(r"hf_[A-Za-z0-9]{6,}")
# the HTTP client's base error (httpx2 in huggingface_hub 2.x): connection failures raise its subclasses
_TRANSPORT_ERROR = getattr(hf_errors, "HTTPError", ConnectionError)


class PushError(GBHubError):
    """A push to the Hub failed or cannot start; the message is one line and never holds a token."""


class NoTokenError(PushError):
    """No Hugging Face token is configured."""


@dataclass(frozen=True)
class PlannedOperation:
    """One line of a push plan: what happens to which path, and how many bytes it uploads (None: deletion)."""

    action: str
    path_in_repo: str
    size: int | None


def is_uploadable(rel_path: str, ignore_patterns: Sequence[str] = ()) -> bool:
    """Whether a file (path relative to the folder, POSIX) belongs in the upload.

    Hidden files and folders (`.cache/`, `.README.md.tmp`), partial downloads (`*.part`), temporary and lock
    files, `__pycache__`, and paths matching one of `ignore_patterns` (fnmatch) are left out.
    """
    parts = rel_path.split("/")
    if any(p.startswith(".") or p == "__pycache__" for p in parts):
        return False
    if parts[-1].endswith(SKIPPED_SUFFIXES):
        return False
    return not any(fnmatch.fnmatch(rel_path, pattern) for pattern in ignore_patterns)


def local_files(folder: Path, ignore_patterns: Sequence[str] = ()) -> dict[str, Path]:
    """`{path_in_repo: local path}` of every uploadable file under `folder`, sorted by path."""
    folder = Path(folder)
    files = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()}
    return {rel: files[rel] for rel in sorted(files) if is_uploadable(rel, ignore_patterns)}


def stale_remote_files(local: Iterable[str], remote: Iterable[str]) -> list[str]:
    """Remote Parquet files to delete: under a top-level folder that holds local Parquet, but not local.

    A rebuilt config replaces its shards (e.g. 2 shards -> 1); configs that are not in the local folder are
    left alone on the remote.
    """
    local = set(local)
    rebuilt = {p.split("/", 1)[0] for p in local if "/" in p and p.endswith(".parquet")}
    return sorted(p for p in remote
                  if "/" in p and p.split("/", 1)[0] in rebuilt and p.endswith(".parquet") and p not in local)


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` on one line, with every secret and anything shaped like a Hub token replaced by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _TOKEN_RE.sub("hf_***", text)
    return " ".join(text.split())[:500]


def _token(api: HfApi) -> str | None:
    token = getattr(api, "token", None)
    return token if isinstance(token, str) and token else get_token()


def _describe_failure(err: BaseException, action: str, repo: str, token: str | None) -> PushError | None:
    """Turn a Hub client exception into a one-line `PushError` (None: not a Hub/network failure)."""
    detail = scrub(str(err), [token])
    if isinstance(err, hf_errors.OfflineModeIsEnabled):
        return PushError(f"cannot {action} {repo}: HF_HUB_OFFLINE is set; unset it to reach the Hub")
    if isinstance(err, hf_errors.HfHubHTTPError):
        status = getattr(getattr(err, "response", None), "status_code", None)
        if status in (401, 403) or isinstance(err, (hf_errors.RepositoryNotFoundError, hf_errors.GatedRepoError)):
            return PushError(f"cannot {action} {repo}: the token has no write access to it (HTTP {status}); "
                             f"use a write token of the owner (`hf auth login` or HF_TOKEN). Hub said: {detail}")
        return PushError(f"cannot {action} {repo}: the Hub answered HTTP {status}: {detail}")
    if isinstance(err, hf_errors.HFValidationError):
        return PushError(f"cannot {action} {repo}: invalid repository id ({detail}); expected ORG/NAME")
    if isinstance(err, (ConnectionError, TimeoutError, _TRANSPORT_ERROR)):
        return PushError(f"cannot {action} {repo}: the Hub is unreachable ({type(err).__name__}: {detail}); "
                         "check the network and retry (nothing was committed)")
    return None


def _call(what: str, repo: str, token: str | None, fn, *args, **kwargs):
    """Call a Hub client method, turning its failures into one-line `PushError`s without tokens."""
    try:
        return fn(*args, **kwargs)
    except Exception as err:  # noqa: BLE001 - re-raised below unless it is a known Hub failure
        described = _describe_failure(err, what, repo, token)
        if described is None:
            raise
        raise described from None


def plan_operations(folder: Path, remote_files: Iterable[str], ignore_patterns: Sequence[str] = (),
                    overrides: Mapping[str, bytes] | None = None
                    ) -> list[CommitOperationAdd | CommitOperationDelete]:
    """The commit's operations: one add per local file, one delete per stale remote Parquet file.

    `overrides` maps paths in the repo to content used instead of the local file (a card rendered in
    memory for a dry run).
    """
    local = local_files(folder, ignore_patterns)
    overrides = dict(overrides or {})
    adds = [CommitOperationAdd(path_in_repo=rel, path_or_fileobj=overrides.pop(rel, None) or str(path))
            for rel, path in local.items()]
    adds += [CommitOperationAdd(path_in_repo=rel, path_or_fileobj=data) for rel, data in sorted(overrides.items())]
    deletes = [CommitOperationDelete(path_in_repo=rel) for rel in stale_remote_files(local, remote_files)]
    return [*adds, *deletes]


def describe_operations(operations: Sequence[CommitOperationAdd | CommitOperationDelete]) -> list[PlannedOperation]:
    """Plain `PlannedOperation`s of commit operations (sizes of the files to upload)."""
    planned = []
    for op in operations:
        if isinstance(op, CommitOperationAdd):
            content = op.path_or_fileobj
            size = len(content) if isinstance(content, bytes) else Path(content).stat().st_size
            planned.append(PlannedOperation("add", op.path_in_repo, size))
        else:
            planned.append(PlannedOperation("delete", op.path_in_repo, None))
    return planned


def format_operations(operations: Sequence[CommitOperationAdd | CommitOperationDelete], repo_id: str,
                      repo_type: str = "dataset", revision: str | None = None) -> str:
    """A human-readable push plan: one line per operation with its size, then the totals."""
    planned = describe_operations(operations)
    lines = [f"{p.action:<6} {_human(p.size) if p.size is not None else '-':>10}  {p.path_in_repo}" for p in planned]
    n_add = sum(p.action == "add" for p in planned)
    total = sum(p.size or 0 for p in planned)
    lines.append(f"total: {n_add} file(s) to upload ({_human(total)}), {len(planned) - n_add} to delete, "
                 f"in one commit to {repo_type} {repo_id}@{revision or 'main'}")
    return "\n".join(lines)


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _remote_files(api: HfApi, repo_id: str, repo_type: str, revision: str | None, token: str | None,
                  *, tolerate_errors: bool) -> tuple[list[str], str | None]:
    """Files on the remote revision and its commit sha (`[]`, None when the repo or branch does not exist).

    With `tolerate_errors` (dry runs) an unreachable Hub is logged and treated as an empty remote.
    """
    label = f"{repo_type} {repo_id}"
    try:
        info = _call("read", label, token, api.repo_info, repo_id, repo_type=repo_type, revision=revision)
        sha = getattr(info, "sha", None)
        files = _call("list files of", label, token, api.list_repo_files, repo_id, repo_type=repo_type,
                      revision=sha or revision)
    except PushError as err:
        if isinstance(err.__context__, (hf_errors.RepositoryNotFoundError, hf_errors.RevisionNotFoundError)):
            return [], None
        if not tolerate_errors:
            raise
        logger.warning("%s; stale files to delete are not shown", err)
        return [], None
    return list(files), sha


def push_folder(folder: Path | str, repo_id: str, *, repo_type: str = "dataset", private: bool = False,
                revision: str | None = None, dry_run: bool = False, api: HfApi | None = None,
                commit_message: str | None = None, ignore_patterns: Sequence[str] = (),
                overrides: Mapping[str, bytes] | None = None,
                ) -> CommitInfo | list[CommitOperationAdd | CommitOperationDelete]:
    """Upload `folder` to `repo_id` in one commit, deleting stale remote Parquet files in the same commit.

    Creates the repository (and the `revision` branch) when missing. The commit names the remote head it was
    planned against (`parent_commit`), so a concurrent change makes it fail instead of mixing states; a failed
    commit changes nothing on the remote.

    Args:
        folder: the local folder (a Hub-layout dataset folder or a model run).
        repo_id: `ORG/NAME`.
        repo_type: `"dataset"` or `"model"`.
        private: create the repository private (an existing repository keeps its visibility).
        revision: branch to commit to (created from `main` when missing); default `main`.
        dry_run: plan only: no token needed, nothing written; the remote is read when reachable.
        api: the Hub client (default `HfApi()`, authenticated by `HF_TOKEN` or `hf auth login`).
        commit_message: default "Upload <folder name> with gbhub".
        ignore_patterns: fnmatch patterns (relative POSIX paths) of files to leave out.
        overrides: `{path in repo: bytes}` uploaded instead of the local file (or added): e.g. a card
            rendered in memory, so that a dry run changes no local file.

    Returns:
        The `CommitInfo` of the commit, or with `dry_run` the planned operations.

    Raises:
        NoTokenError: no token is configured (and not `dry_run`).
        PushError: the folder is empty, the token lacks permission, or the Hub cannot be reached.
    """
    folder = Path(folder)
    if repo_type not in REPO_TYPES:
        raise PushError(f"repo_type must be one of {', '.join(REPO_TYPES)}, got {repo_type!r}")
    if not folder.is_dir():
        raise PushError(f"{folder} is not a folder; build it first (`gbhub build ... --out {folder}`)")
    if not local_files(folder, ignore_patterns):
        raise PushError(f"{folder} has no file to upload")
    api = api or HfApi()
    token = _token(api)
    if token is None and not dry_run:
        raise NoTokenError("no Hugging Face token found: run `hf auth login` or set HF_TOKEN to a token with "
                           f"write access to {repo_id}")
    label = f"{repo_type} {repo_id}"
    if dry_run:
        remote, _ = _remote_files(api, repo_id, repo_type, revision, token, tolerate_errors=True)
        return plan_operations(folder, remote, ignore_patterns, overrides)
    _call("create", label, token, api.create_repo, repo_id, repo_type=repo_type, private=private, exist_ok=True)
    if revision:
        _call("create branch", f"{label}@{revision}", token, api.create_branch, repo_id, branch=revision,
              repo_type=repo_type, exist_ok=True)
    remote, parent = _remote_files(api, repo_id, repo_type, revision, token, tolerate_errors=False)
    operations = plan_operations(folder, remote, ignore_patterns, overrides)
    logger.info("pushing %d operation(s) to %s@%s in one commit", len(operations), label, revision or "main")
    return _call("commit to", label, token, api.create_commit, repo_id, operations,
                 commit_message=commit_message or f"Upload {folder.resolve().name} with gbhub",
                 repo_type=repo_type, revision=revision, parent_commit=parent)
