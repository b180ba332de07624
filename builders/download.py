"""Network edge: resumable, verified, atomic downloads (http, https, ftp, file, local paths) into the cache."""

from __future__ import annotations

import base64
import ftplib
import hashlib
import http.client
import logging
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable
from urllib.parse import unquote, urlsplit, urlunsplit

from gbhub.builders.errors import ChecksumError, DownloadError

if TYPE_CHECKING:
    from tqdm.auto import tqdm

logger = logging.getLogger(__name__)

USER_AGENT = "genomic-benchmarks-hub (+https://huggingface.co/docs/datasets)"
_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
_CONTENT_RANGE_RE = re.compile(r"^\s*bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)\s*$", re.IGNORECASE)
_SECRET_QUERY_KEYS = ("token", "key", "sig", "secret", "pass", "auth", "credential")
_MAX_CHECKSUMS_BYTES = 16 << 20

Reader = Callable[[int], bytes]


# ----------------------------------------------------------------------------------------------- public API


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """Return the gbhub cache folder (not created here).

    Args:
        cache_dir: An explicit folder (the `--cache-dir` option); wins when given.

    Returns:
        `cache_dir` if given, else `$GBHUB_CACHE` if set and non-empty, else `~/.cache/gbhub`, user-expanded.
    """
    if cache_dir is not None and str(cache_dir) != "":
        return Path(cache_dir).expanduser()
    env = os.environ.get("GBHUB_CACHE", "")
    if env:
        return Path(env).expanduser()
    return Path("~/.cache/gbhub").expanduser()


def download(
    url: str,
    dest: Path,
    *,
    sha256: str | None = None,
    checksums_url: str | None = None,
    progress: bool = True,
    timeout: float = 60.0,
    chunk_size: int = 1 << 20,
) -> str:
    """Download `url` to `dest` atomically, verified, resuming a leftover partial file.

    The bytes go to `<dest>.part` (resumed with HTTP `Range` or FTP `REST` when it exists); only after the
    pinned sha256 and the published checksum (if any) agree is it renamed onto `dest`, so `dest` is never
    half-written. `file://` URLs and plain local paths are copied with the same semantics.

    Args:
        url: An `http(s)://`, `ftp://` or `file://` URL, or a local path.
        dest: Where the file ends up. If it exists it is verified (sha256 when given) and not downloaded.
        sha256: The pinned sha256 hex digest; a mismatch raises `ChecksumError` and deletes the `.part`.
        checksums_url: A published checksum list next to the file (Ensembl `CHECKSUMS`, BSD `sum -r`
            lines `31005 881211 name`; md5sum/sha256sum lines `<hex>  name` are understood too). A
            line for the file's name that disagrees raises `ChecksumError`; a missing file or line only
            logs a warning.
        progress: Show a tqdm progress bar.
        timeout: Socket timeout in seconds for connecting and for each read.
        chunk_size: Bytes read per chunk.

    Returns:
        The sha256 hex digest (lower case) of the file at `dest`.

    Raises:
        DownloadError: The server could not be reached, answered an error, or the connection dropped
            (the partial file is kept at `<dest>.part`; re-running resumes).
        ChecksumError: The file's sha256 or published checksum disagrees.
    """
    dest = Path(dest)
    expected = _normalise_sha256(sha256, url)
    if dest.exists():
        return _verify_existing(dest, url, expected)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    opts = _Options(url=url, dest=dest, part=part, progress=progress, timeout=timeout, chunk_size=chunk_size)
    digest = _fetcher(url)(opts)
    _check_sha256(part, digest, expected, url)
    if checksums_url:
        _check_published(part, url, checksums_url, timeout)
    os.replace(part, dest)
    logger.debug("downloaded %s to %s (sha256 %s)", _redact(url), dest, digest)
    return digest


def bsd_sum(path: Path) -> tuple[int, int]:
    """BSD checksum of a file, like coreutils `sum -r` (the format of Ensembl's `CHECKSUMS`).

    Uses the `sum` command when it is on `PATH` (fast), else a pure-Python loop (slow: ~10 MB/s).

    Args:
        path: The file.

    Returns:
        `(checksum, blocks)`: the 16-bit rotating checksum and the size in 1024-byte blocks (rounded up).
    """
    path = Path(path)
    result = _bsd_sum_command(path)
    return result if result is not None else _bsd_sum_python(path)


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    """Return the sha256 hex digest (lower case) of the file at `path`."""
    return _hash_file(Path(path), chunk_size).hexdigest()


def part_path(dest: Path) -> Path:
    """Return the partial-download path of `dest`: `<dest>.part` next to it."""
    dest = Path(dest)
    return dest.with_name(dest.name + ".part")


# ------------------------------------------------------------------------------------------------ plumbing


@dataclass(frozen=True)
class _Options:
    """What every fetcher needs: source, destination, partial file and transfer settings."""

    url: str
    dest: Path
    part: Path
    progress: bool
    timeout: float
    chunk_size: int


def _fetcher(url: str) -> Callable[[_Options], str]:
    """Pick the fetcher for the URL scheme; each writes `opts.part` and returns its sha256."""
    scheme = _scheme(url)
    if scheme in ("http", "https"):
        return _fetch_http
    if scheme == "ftp":
        return _fetch_ftp
    if scheme == "file":
        return _fetch_local
    raise DownloadError(
        f"cannot download {_redact(url)}: unsupported URL scheme {scheme!r}; "
        "use an http(s)://, ftp:// or file:// URL or a local path"
    )


def _scheme(url: str) -> str:
    """URL scheme in lower case; `file` for plain local paths (including `C:\\...` drive paths)."""
    scheme = urlsplit(url).scheme.lower()
    return "file" if len(scheme) <= 1 else scheme


def _redact(url: str) -> str:
    """The URL with its user info and secret-looking query values replaced by `***`, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if len(parts.scheme) <= 1:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = "&".join(_redact_query_item(item) for item in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _redact_query_item(item: str) -> str:
    key = item.split("=", 1)[0]
    return f"{key}=***" if any(word in key.lower() for word in _SECRET_QUERY_KEYS) else item


def _file_name(url: str) -> str:
    """The last path component of a URL or local path (query and fragment ignored)."""
    if _scheme(url) == "file" and not url.lower().startswith("file:"):
        return Path(url).name
    return unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])


def _normalise_sha256(sha256: str | None, url: str) -> str | None:
    if sha256 is None:
        return None
    if not _SHA256_RE.match(sha256.strip()):
        raise ChecksumError(
            f"the pinned sha256 for {_redact(url)} is {sha256!r}, not 64 hex digits; fix the pin"
        )
    return sha256.strip().lower()


def _verify_existing(dest: Path, url: str, expected: str | None) -> str:
    """Hash a file already at `dest`; raise `ChecksumError` if it differs from the pin."""
    digest = sha256_file(dest)
    if expected is not None and digest != expected:
        raise ChecksumError(
            f"{dest} (cached from {_redact(url)}) has sha256 {digest}, expected {expected}; "
            f"delete {dest} and re-run to download it again, or check that the pinned sha256 and URL match"
        )
    logger.debug("%s already present (sha256 %s); not downloading", dest, digest)
    return digest


def _check_sha256(part: Path, digest: str, expected: str | None, url: str) -> None:
    """Raise `ChecksumError` (deleting the corrupt `.part`, which must not be resumed) on a mismatch."""
    if expected is None or digest == expected:
        return
    part.unlink(missing_ok=True)
    raise ChecksumError(
        f"sha256 of {_file_name(url)} downloaded from {_redact(url)} is {digest}, expected {expected}; "
        "the partial file was deleted: re-run to download it again, and if it fails again check that "
        "the URL and the pinned sha256 belong to the same file (a release may have been replaced)"
    )


def _hash_file(path: Path, chunk_size: int = 1 << 20) -> "hashlib._Hash":
    hasher = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            hasher.update(chunk)
    return hasher


def _progress_bar(opts: _Options, total: int | None, initial: int) -> tqdm:
    from tqdm.auto import tqdm  # lazy: 35 ms of a quick command's start-up

    return tqdm(
        total=total,
        initial=initial,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=_file_name(opts.url),
        disable=not opts.progress,
        leave=False,
    )


def _receive(read: Reader, opts: _Options, *, offset: int, total: int | None) -> str:
    """Stream `read` into `opts.part` (appending after `offset` existing bytes) and check the size.

    Args:
        read: Returns up to n bytes; `b""` at the end of the stream.
        opts: Transfer options.
        offset: Bytes of `opts.part` kept (and hashed first); 0 truncates it.
        total: The full file size when the server announced it.

    Returns:
        The sha256 hex digest of the whole `.part`.

    Raises:
        DownloadError: The stream ended or failed before `total` bytes arrived (the `.part` is kept).
    """
    hasher = _hash_file(opts.part) if offset else hashlib.sha256()
    try:
        with open(opts.part, "ab" if offset else "wb") as fh, _progress_bar(opts, total, offset) as bar:
            while chunk := read(opts.chunk_size):
                fh.write(chunk)
                hasher.update(chunk)
                bar.update(len(chunk))
    except (OSError, EOFError, http.client.HTTPException, ftplib.Error) as exc:
        raise _interrupted(opts, total, exc) from exc
    size = opts.part.stat().st_size
    if total is not None and size < total:
        raise _interrupted(opts, total, None)
    if total is not None and size > total:
        opts.part.unlink(missing_ok=True)
        raise DownloadError(
            f"{_redact(opts.url)} sent {size:,} bytes but announced {total:,}; the partial file was "
            "deleted: re-run to download it again"
        )
    return hasher.hexdigest()


def _interrupted(opts: _Options, total: int | None, exc: BaseException | None) -> DownloadError:
    arrived = opts.part.stat().st_size if opts.part.exists() else 0
    of_total = f"{arrived:,} of {total:,} bytes" if total is not None else f"{arrived:,} bytes (size unknown)"
    reason = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
    return DownloadError(
        f"download of {_redact(opts.url)} was interrupted after {of_total}{reason}; "
        f"the partial file is kept at {opts.part}: re-run the same command to resume it"
    )


def _unreachable(opts: _Options, exc: BaseException) -> DownloadError:
    return DownloadError(
        f"could not download {_redact(opts.url)}: {type(exc).__name__}: {exc}; check the network "
        f"connection (and proxy), then re-run, or fetch the file yourself and place it at {opts.dest}"
    )


# -------------------------------------------------------------------------------------------- http, https


def _fetch_http(opts: _Options) -> str:
    """HTTP(S) fetcher: resumes with `Range: bytes=N-` (206 appends; 200 restarts from zero)."""
    offset = opts.part.stat().st_size if opts.part.exists() else 0
    try:
        response = urllib.request.urlopen(_http_request(opts.url, offset), timeout=opts.timeout)
    except urllib.error.HTTPError as exc:
        with exc:
            if exc.code == 416 and offset:
                return _after_416(opts, offset, exc.headers.get("Content-Range"))
            raise _http_error(opts, exc) from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise _unreachable(opts, exc) from exc
    with response:
        return _read_http_response(response, opts, offset)


def _read_http_response(response: http.client.HTTPResponse, opts: _Options, offset: int) -> str:
    length = _int_or_none(response.headers.get("Content-Length"))
    if offset and response.status == 206:
        start, total = _parse_content_range(response.headers.get("Content-Range"))
        if start != offset:
            logger.warning("%s answered a range from byte %s, not %s; restarting", _redact(opts.url), start, offset)
            response.close()
            opts.part.unlink(missing_ok=True)
            return _fetch_http(opts)
        if total is None and length is not None:
            total = offset + length
        return _receive(response.read, opts, offset=offset, total=total)
    if offset:
        logger.info("%s ignored the Range request; restarting from byte 0", _redact(opts.url))
    return _receive(response.read, opts, offset=0, total=length)


def _after_416(opts: _Options, offset: int, content_range: str | None) -> str:
    """Range not satisfiable: the `.part` is complete when its size is the file size, else restart."""
    _, total = _parse_content_range(content_range)
    if total == offset:
        return _hash_file(opts.part).hexdigest()
    logger.info("%s: partial file %s does not fit the remote file; restarting", _redact(opts.url), opts.part)
    opts.part.unlink(missing_ok=True)
    return _fetch_http(opts)


def _http_request(url: str, offset: int) -> urllib.request.Request:
    """A GET request with credentials moved from the URL into a Basic `Authorization` header."""
    parts = urlsplit(url)
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode("ascii")
        host = parts.netloc.rsplit("@", 1)[1]
        url = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return urllib.request.Request(url, headers=headers)


def _http_error(opts: _Options, exc: urllib.error.HTTPError) -> DownloadError:
    status = f"HTTP {exc.code} {exc.reason}"
    if exc.code == 404:
        fix = "check the URL (the release may have moved)"
    elif exc.code in (401, 403):
        fix = "check the URL and that you have access to it"
    else:
        fix = "retry later"
    return DownloadError(
        f"{status} for {_redact(opts.url)}; {fix}, or fetch the file yourself and place it at {opts.dest}"
    )


def _parse_content_range(value: str | None) -> tuple[int | None, int | None]:
    """`bytes 100-199/1000` -> (100, 1000); `bytes */1000` -> (None, 1000); unknown parts are None."""
    match = _CONTENT_RANGE_RE.match(value or "")
    if not match:
        return None, None
    start, _, total = match.groups()
    return _int_or_none(start), _int_or_none(total)


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


# ----------------------------------------------------------------------------------------------------- ftp


def _fetch_ftp(opts: _Options) -> str:
    """FTP fetcher (ftplib, passive, binary): resumes with `REST N`, restarting when REST is refused."""
    try:
        with _ftp_connect(opts.url, opts.timeout) as ftp:
            return _ftp_retrieve(ftp, opts)
    except (DownloadError, ChecksumError):
        raise
    except ftplib.error_perm as exc:
        raise DownloadError(
            f"FTP server refused {_redact(opts.url)}: {exc}; check the URL (the release may have moved), "
            f"or fetch the file yourself and place it at {opts.dest}"
        ) from exc
    except (*ftplib.all_errors, ValueError) as exc:
        raise _unreachable(opts, exc) from exc


def _ftp_connect(url: str, timeout: float) -> ftplib.FTP:
    parts = urlsplit(url)
    ftp = ftplib.FTP(timeout=timeout)
    ftp.connect(parts.hostname or "", parts.port or 21)
    user = unquote(parts.username) if parts.username else "anonymous"
    password = unquote(parts.password) if parts.password else "anonymous@"
    ftp.login(user, password)
    ftp.voidcmd("TYPE I")
    return ftp


def _ftp_retrieve(ftp: ftplib.FTP, opts: _Options) -> str:
    path = unquote(urlsplit(opts.url).path)
    total = _ftp_size(ftp, path)
    offset = opts.part.stat().st_size if opts.part.exists() else 0
    if offset and total is not None and offset >= total:
        if offset == total:
            return _hash_file(opts.part).hexdigest()
        offset = 0
    connection, offset = _ftp_transfer(ftp, path, offset)
    with connection:
        try:
            digest = _receive(connection.recv, opts, offset=offset, total=total)
        except DownloadError:
            _ftp_abandon(ftp)
            raise
    ftp.voidresp()
    return digest


def _ftp_size(ftp: ftplib.FTP, path: str) -> int | None:
    try:
        return ftp.size(path)
    except ftplib.all_errors:
        return None


def _ftp_transfer(ftp: ftplib.FTP, path: str, offset: int):
    """Open the RETR data connection at `offset`; returns `(socket, offset actually used)`."""
    if offset:
        try:
            return ftp.transfercmd(f"RETR {path}", rest=offset), offset
        except ftplib.error_perm as exc:
            logger.info("FTP server refused to resume at byte %d (%s); restarting from byte 0", offset, exc)
    return ftp.transfercmd(f"RETR {path}"), 0


def _ftp_abandon(ftp: ftplib.FTP) -> None:
    """Best-effort read of the transfer's final reply after a failed transfer."""
    try:
        ftp.voidresp()
    except ftplib.all_errors:
        pass


# ---------------------------------------------------------------------------------------- file:// and paths


def _local_path(url: str) -> Path:
    if url.lower().startswith("file:"):
        parts = urlsplit(url)
        return Path(urllib.request.url2pathname(unquote(parts.path)))
    return Path(url).expanduser()


def _fetch_local(opts: _Options) -> str:
    """Copy a `file://` URL or local path into the `.part` (always from byte 0)."""
    source = _local_path(opts.url)
    if not source.is_file():
        raise DownloadError(
            f"{source} does not exist or is not a file (from {_redact(opts.url)}); check the path"
        )
    total = source.stat().st_size
    try:
        with open(source, "rb") as fh:
            return _receive(fh.read, opts, offset=0, total=total)
    except OSError as exc:
        raise DownloadError(f"could not read {source}: {exc}; check the path and its permissions") from exc


# ------------------------------------------------------------------------------------ published checksums


def _check_published(part: Path, url: str, checksums_url: str, timeout: float) -> None:
    """Verify `part` against its line in a published checksum list; warn when there is no such line."""
    name = _file_name(url)
    text = _read_checksums(checksums_url, timeout)
    if text is None:
        return
    entry = _find_checksum_entry(text, name)
    if entry is None:
        logger.warning(
            "%s has no line for %s; it is not verified against a published checksum (its sha256 is recorded)",
            _redact(checksums_url), name,
        )
        return
    kind, expected = entry
    got = _published_style_checksum(part, kind)
    if got != expected:
        part.unlink(missing_ok=True)
        raise ChecksumError(
            f"{name} downloaded from {_redact(url)} has {kind} checksum {_show(kind, got)}, but "
            f"{_redact(checksums_url)} lists {_show(kind, expected)}; the partial file was deleted: re-run "
            "to download it again, and if it fails again check that the URL and the checksum list match"
        )


def _read_checksums(checksums_url: str, timeout: float) -> str | None:
    try:
        return _fetch_small(checksums_url, timeout).decode("utf-8", errors="replace")
    except Exception as exc:  # any failure only costs the extra check  # noqa: BLE001
        logger.warning(
            "could not fetch the checksum list %s (%s: %s); the file is not verified against it "
            "(its sha256 is recorded)", _redact(checksums_url), type(exc).__name__, exc,
        )
        return None


def _fetch_small(url: str, timeout: float) -> bytes:
    """Read a small file (a checksum list) fully into memory."""
    scheme = _scheme(url)
    if scheme in ("http", "https"):
        with urllib.request.urlopen(_http_request(url, 0), timeout=timeout) as response:
            return response.read(_MAX_CHECKSUMS_BYTES)
    if scheme == "ftp":
        chunks: list[bytes] = []
        with _ftp_connect(url, timeout) as ftp:
            ftp.retrbinary(f"RETR {unquote(urlsplit(url).path)}", chunks.append)
        return b"".join(chunks)
    if scheme == "file":
        with open(_local_path(url), "rb") as fh:
            return fh.read(_MAX_CHECKSUMS_BYTES)
    raise ValueError(f"unsupported URL scheme {scheme!r}")


def _find_checksum_entry(text: str, name: str) -> tuple[str, object] | None:
    """Find `name` in a checksum list.

    Understands BSD `sum` lines (`31005 881211 name` -> `("bsd", (31005, 881211))`) and md5sum/sha256sum
    lines (`<hex>  name` or `<hex> *name` -> `("md5", hex)` / `("sha256", hex)`).
    """
    for line in text.splitlines():
        tokens = line.split()
        if len(tokens) >= 3 and tokens[0].isdigit() and tokens[1].isdigit():
            if _same_name(" ".join(tokens[2:]), name):
                return "bsd", (int(tokens[0]), int(tokens[1]))
        elif len(tokens) >= 2 and re.fullmatch(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{64}", tokens[0]):
            if _same_name(" ".join(tokens[1:]).lstrip("*"), name):
                return ("md5" if len(tokens[0]) == 32 else "sha256"), tokens[0].lower()
    return None


def _same_name(listed: str, name: str) -> bool:
    return listed.rsplit("/", 1)[-1] == name


def _published_style_checksum(path: Path, kind: str) -> object:
    if kind == "bsd":
        return bsd_sum(path)
    hasher = hashlib.new(kind)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()


def _show(kind: str, value: object) -> str:
    if kind == "bsd":
        checksum, blocks = value  # type: ignore[misc]
        return f"{checksum} with {blocks} 1K-blocks (`sum -r`)"
    return str(value)


# ------------------------------------------------------------------------------------------------ BSD sum


def _bsd_sum_command(path: Path) -> tuple[int, int] | None:
    """`sum -r <path>` parsed; None when `sum` is missing, fails, or prints something unexpected."""
    executable = shutil.which("sum")
    if executable is None:
        return None
    try:
        run = subprocess.run(
            [executable, "-r", str(path.resolve())], capture_output=True, text=True, errors="replace", check=False
        )
    except OSError:
        return None
    tokens = run.stdout.split()
    if run.returncode != 0 or len(tokens) < 2 or not (tokens[0].isdigit() and tokens[1].isdigit()):
        logger.debug("`sum -r` failed on %s (%s); using the Python BSD sum", path, run.stderr.strip())
        return None
    return int(tokens[0]), int(tokens[1])


def _bsd_sum_python(path: Path, chunk_size: int = 1 << 20) -> tuple[int, int]:
    """Pure-Python BSD checksum: rotate the 16-bit sum right by one, add the byte, keep 16 bits."""
    checksum = 0
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            size += len(chunk)
            for byte in chunk:
                checksum = (((checksum >> 1) | ((checksum & 1) << 15)) + byte) & 0xFFFF
    return checksum, (size + 1023) // 1024
