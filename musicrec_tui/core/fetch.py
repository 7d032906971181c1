"""Preview download into a cache directory: streaming, capped, checked, hashed and atomic.

A download goes to a temp file in the cache directory (`.<name>.<pid>.<random>.part`), is hashed and counted
while it streams, is checked against Content-Length and the per-file cap, is decoded (and, by default, checked
to be long and loud enough to analyse) and only then renamed into place with os.replace. A file under its
final name is therefore always complete and decodable; a temp file never outlives its download (try/finally,
also on KeyboardInterrupt), and temp files of processes that died (kill -9) are swept when a cache is opened.

What "decodable" means is the `check` setting: "full" decodes the whole file and rejects silent or short
audio (core.audio.check_analysable); "decode" decodes the whole file only; "probe" decodes the first
MIN_SECONDS + 0.5 s (rejects undecodable and short files at a fraction of the cost, leaving silence to the
analysis, which decodes anyway).

Every download is bounded in time as well as size: an overall `deadline` (default 120 s) and a minimum
average rate (`min_rate` bytes/s, checked once `rate_grace` seconds have passed), so a server trickling a
byte every few seconds fails the track instead of holding it in `downloading`; each read returns as soon as
bytes arrive (read1), so the checks run between reads. Neither is retried: a slow host stays slow.
Redirects are followed by hand (core.netutil.get_following): to the same host or an allow-listed one
(`allow_hosts`), at most MAX_REDIRECTS hops, and a loop fails at once, without retries.

File names come from ids only: `itunes-<trackId><ext>`. The cache has a size limit with least-recently-used
eviction: every use of a file sets its atime/mtime to now, and `evict()` removes the oldest first. After a
download the directory is scanned only when this object's running total passes the limit (it then evicts down
to 90 %) or every 64 downloads, because a scan of thousands of files costs more than a download.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from .audio import AUDIO_EXTENSIONS, MIN_SECONDS, check_analysable, decode
from .errors import ConfigError, DecodeError, DownloadError, PreviewGone
from .files import pid_alive, sha256_file
from .models import Track
from .netutil import DEFAULT_REDIRECT_HOSTS, MAX_REDIRECTS, RedirectRefused, describe, get_following, unresolvable
from .netutil import strip_query as _clean
from .ratelimit import Sleep, backoff_delay, parse_retry_after

CHUNK = 64 * 1024
CHECKS = ("full", "decode", "probe")
RESCAN_EVERY = 64
LOW_WATER = 0.9
_PART = re.compile(r"^\..+\.(\d+)\.[A-Za-z0-9_]+\.part$")
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True, slots=True)
class CachedPreview:
    """A complete, decodable preview file in the cache."""

    path: Path
    sha256: str
    size: int
    reused: bool = False


class _Transient(Exception):
    """A failure worth another try (5xx, 429, timeout, reset, truncation)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PreviewCache:
    """Downloads previews into `dir` and keeps them under `max_bytes` in total (LRU)."""

    def __init__(
        self,
        dir: str | os.PathLike[str],
        *,
        max_bytes: int = 2 * 1024**3,
        max_file_bytes: int = 10 * 1024**2,
        session: requests.Session | None = None,
        timeout: float = 20.0,
        retries: int = 3,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        check: str = "full",
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
        deadline: float = 120.0,
        min_rate: float = 2048.0,
        rate_grace: float = 15.0,
        allow_hosts: tuple[str, ...] = DEFAULT_REDIRECT_HOSTS,
        max_redirects: int = MAX_REDIRECTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dir = Path(dir)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the preview cache {self.dir}: {exc.strerror or exc}") from None
        self.max_bytes = int(max_bytes)
        self.max_file_bytes = int(max_file_bytes)
        self._session = session or requests.Session()
        self.timeout = timeout
        self.retries = retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        if check not in CHECKS:
            raise ValueError(f"check must be one of {', '.join(CHECKS)}, got {check!r}")
        self.check = check
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.deadline = float(deadline)
        self.min_rate = float(min_rate)
        self.rate_grace = float(rate_grace)
        self.allow_hosts = tuple(allow_hosts)
        self.max_redirects = int(max_redirects)
        self._clock = clock
        self._lock = threading.Lock()
        self._estimate: int | None = None  # total bytes as of the last scan plus this object's downloads since
        self._since_scan = 0
        self.sweep_partial()

    # -- public API ---------------------------------------------------------------------------------------

    def path_for(self, track: Track) -> Path:
        """Where `track`'s preview lives in the cache: named from ids only."""
        ext = _extension(track.preview_url)
        if not _SAFE_ID.match(track.source) or not _SAFE_ID.match(track.external_id):
            raise DownloadError(f"cannot name a cache file for track {track.source}:{track.external_id!r}")
        return self.dir / f"{track.source}-{track.external_id}{ext}"

    def fetch(self, track: Track) -> CachedPreview:
        """The cached preview of `track`, downloading it first when there is no valid copy."""
        if not track.preview_url:
            raise DownloadError("track has no preview URL")
        final = self.path_for(track)
        cached = self._reuse(final, track.preview_sha256)
        if cached is not None:
            return cached
        url = track.preview_url
        attempt = 0
        while True:
            try:
                preview = self._download(url, final)
            except _Transient as exc:
                if attempt >= self.retries:
                    raise DownloadError(f"{exc} ({_clean(url)}, {attempt + 1} attempts)") from None
                delay = backoff_delay(attempt, base=self.backoff_base, cap=self.backoff_cap, rng=self._rng)
                if exc.retry_after is not None:  # honoured up to the cap: a preview is not worth more
                    delay = max(delay, min(exc.retry_after, self.backoff_cap))
                self._sleep(delay)
                attempt += 1
                continue
            self._account(preview.size, keep=final)
            return preview

    def discard(self, track: Track) -> bool:
        """Delete `track`'s cached preview (cache.keep_previews = false). True when a file was removed."""
        try:
            self.path_for(track).unlink()
        except FileNotFoundError:
            return False
        return True

    def total_bytes(self) -> int:
        return sum(size for _, size, _ in self._entries())

    def evict(self, keep: Path | None = None, target: int | None = None) -> list[Path]:
        """Delete least-recently-used previews until the total is within `target` (default max_bytes);
        returns the deleted paths. `keep` is never deleted."""
        limit = self.max_bytes if target is None else min(target, self.max_bytes)
        entries = sorted(self._entries(), key=lambda e: e[2])
        total = sum(size for _, size, _ in entries)
        removed: list[Path] = []
        for path, size, _ in entries:
            if total <= limit:
                break
            if keep is not None and path == keep:
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
            total -= size
        with self._lock:
            self._estimate, self._since_scan = total, 0
        return removed

    def _account(self, size: int, keep: Path) -> None:
        """After a download: scan only when the running total passes max_bytes (then evict down to
        LOW_WATER of it, so a full cache is not rescanned on every download) or every RESCAN_EVERY downloads
        to notice other processes' files. A scan costs ~16 us a file (65 ms for 4,000 here)."""
        with self._lock:
            if self._estimate is not None:
                self._estimate += size
                self._since_scan += 1
            scan = (self._estimate is None or self._estimate > self.max_bytes
                    or self._since_scan >= RESCAN_EVERY)
        if scan:
            self.evict(keep=keep, target=int(self.max_bytes * LOW_WATER))

    def sweep_partial(self) -> list[Path]:
        """Remove temp files left by processes that no longer run (after a kill -9)."""
        removed: list[Path] = []
        for path in self.dir.iterdir():
            match = _PART.match(path.name)
            if match and not pid_alive(int(match.group(1))):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed.append(path)
        return removed

    # -- plumbing -----------------------------------------------------------------------------------------

    def _entries(self) -> list[tuple[Path, int, float]]:
        out = []
        with os.scandir(self.dir) as it:
            for entry in it:
                if entry.name.startswith("."):
                    continue
                try:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                out.append((Path(entry.path), st.st_size, max(st.st_atime, st.st_mtime)))
        return out

    def _reuse(self, final: Path, expected_sha: str | None) -> CachedPreview | None:
        try:
            size = final.stat().st_size
        except FileNotFoundError:
            return None
        if size == 0 or size > self.max_file_bytes:
            final.unlink(missing_ok=True)
            return None
        digest = sha256_file(final)
        if expected_sha and digest != expected_sha:
            final.unlink(missing_ok=True)
            return None
        with contextlib.suppress(FileNotFoundError):
            os.utime(final)
        return CachedPreview(final, digest, size, reused=True)

    def _download(self, url: str, final: Path) -> CachedPreview:
        tmp: Path | None = None
        try:
            fd, tmp_name = tempfile.mkstemp(dir=self.dir, prefix=f".{final.name}.{os.getpid()}.",
                                            suffix=".part")
            tmp = Path(tmp_name)
            with os.fdopen(fd, "wb") as out:
                digest, size = self._stream(url, out)
                out.flush()
                os.fsync(out.fileno())
            self._check_audio(tmp)
            os.replace(tmp, final)
            return CachedPreview(final, digest, size)
        except OSError as exc:  # disk full, permissions: requests' own errors are handled in _stream
            reason = exc.strerror or str(exc)
            raise DownloadError(f"cannot write to the preview cache {self.dir}: {reason}") from None
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)

    def _stream(self, url: str, out: BinaryIO) -> tuple[str, int]:
        hasher = hashlib.sha256()
        got = wire = 0
        expected: int | None = None
        started = self._clock()
        try:
            with get_following(self._session, url, allow_hosts=self.allow_hosts, max_redirects=self.max_redirects,
                               stream=True, timeout=self.timeout,
                               headers={"Accept-Encoding": "identity"}) as resp:
                status = resp.status_code
                if status >= 500 or status in (408, 429):
                    raise _Transient(f"HTTP {status}", parse_retry_after(resp.headers.get("Retry-After")))
                if status in (404, 410):
                    raise PreviewGone(f"HTTP {status} for preview {_clean(url)}")
                if status != 200:
                    raise DownloadError(f"HTTP {status} for preview {_clean(url)}")
                expected = _content_length(resp.headers.get("Content-Length"))
                if expected is not None and expected > self.max_file_bytes:
                    raise DownloadError(
                        f"preview larger than cap: {expected} bytes > {self.max_file_bytes} ({_clean(url)})")
                resp.raw.decode_content = True
                # count a short body ourselves: urllib3 would raise and drop the bytes it had buffered
                resp.raw.enforce_content_length = False
                while chunk := resp.raw.read1(CHUNK):  # returns as soon as bytes arrive: checks run often
                    got += len(chunk)
                    if got > self.max_file_bytes:
                        raise DownloadError(
                            f"preview larger than cap: over {self.max_file_bytes} bytes ({_clean(url)})")
                    hasher.update(chunk)
                    out.write(chunk)
                    self._check_pace(started, got, url)
                wire = resp.raw.tell()  # bytes off the wire: what Content-Length counts, even if encoded
        except RedirectRefused as exc:
            raise DownloadError(f"{exc} for preview {_clean(url)}") from None
        except (requests.exceptions.ChunkedEncodingError, urllib3.exceptions.ProtocolError):
            if expected is not None:
                raise _Transient(f"truncated: got {got} of {expected} bytes") from None
            raise _Transient(f"connection closed after {got} bytes") from None
        except (requests.Timeout, urllib3.exceptions.TimeoutError):
            raise _Transient(f"timed out after {self.timeout:g} s") from None
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                requests.exceptions.MissingSchema) as exc:
            raise DownloadError(f"bad preview URL {_clean(url)}: {type(exc).__name__}") from None
        except requests.RequestException as exc:
            if "timed out" in str(exc).lower():
                raise _Transient(f"timed out after {self.timeout:g} s") from None
            if unresolvable(exc):
                raise DownloadError(f"{describe(exc)} for preview {_clean(url)}") from None
            raise _Transient(describe(exc)) from None
        except urllib3.exceptions.HTTPError as exc:
            raise _Transient(f"connection error ({type(exc).__name__})") from None
        if expected is not None and wire != expected:
            raise _Transient(f"truncated: got {wire} of {expected} bytes")
        if got == 0:
            raise _Transient("empty body")
        return hasher.hexdigest(), got

    def _check_pace(self, started: float, got: int, url: str) -> None:
        """The overall deadline and the minimum average rate (after the grace period): neither is retried."""
        elapsed = self._clock() - started
        if elapsed > self.deadline:
            raise DownloadError(f"download too slow: not complete after {self.deadline:g} s ({_clean(url)})")
        if elapsed > self.rate_grace and got < self.min_rate * elapsed:
            raise DownloadError(f"download too slow: {got / elapsed:.0f} bytes/s after {elapsed:.0f} s, below "
                                f"{self.min_rate:.0f} bytes/s ({_clean(url)})")

    def _check_audio(self, path: Path) -> None:
        try:
            if self.check == "probe":
                head = decode(path, max_seconds=MIN_SECONDS + 0.5)
                if head.seconds < MIN_SECONDS:
                    check_analysable(head)  # raises "audio too short"
                return
            audio = decode(path)
            if self.check == "full":
                check_analysable(audio)
        except DecodeError as exc:
            raise DecodeError(f"preview rejected: {exc}") from None


def _extension(url: str | None) -> str:
    if url:
        suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
        if suffix in AUDIO_EXTENSIONS:
            return suffix
    return ".m4a"


def _content_length(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())
