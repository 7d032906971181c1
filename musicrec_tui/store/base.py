"""The library store: one interface over tracks, feature vectors and ingest jobs, for SQLite and MySQL."""

from __future__ import annotations

import functools
import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any, ClassVar, ParamSpec, TypeVar

import numpy as np

from ..core import limits
from ..core.errors import StoreConflict, StoreError
from ..core.models import FeatureVector, Job, JobState, Track, VectorMatrix
from ..core.text import clean, clean_id, clean_name
from .url import DbUrl

TRACK_COLUMNS = (
    "source", "external_id", "title", "artist", "album", "genre", "duration_ms", "preview_url",
    "artwork_url", "release_date", "track_number", "country", "preview_path", "preview_sha256",
)
# On re-insert these keep their stored value when the new record has none (e.g. a fresh search result).
KEEP_IF_NULL = frozenset({"duration_ms", "preview_url", "artwork_url", "release_date", "track_number",
                          "country", "preview_path", "preview_sha256"})
SORT_FIELDS = frozenset({"id", "title", "artist", "album", "genre", "duration_ms", "created_at", "source"})
JOB_COLUMNS = "id, source, external_id, payload, state, attempts, last_error, worker, track_id, updated_at"
MAX_ERROR_CHARS = 2000  # a job's failure reason is one line of at most this many characters
VECTOR_BATCH = 2000  # rows per executemany: 2,000 x 1 KiB stays far below MySQL's 16 MiB packet


CONFLICT_RETRIES = 8      # a deadlock or lock-wait timeout is retried this many times, then raised
CONFLICT_BASE_S = 0.05    # full-jitter backoff: uniform(0, min(cap, base * 2**attempt))
CONFLICT_CAP_S = 2.0

_P = ParamSpec("_P")
_R = TypeVar("_R")


def retry_conflicts(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run a write method again when its transaction lost a deadlock or a lock wait (StoreConflict).

    Each write method is one transaction, rolled back whole on error, so running it again is safe. The retries
    are bounded (CONFLICT_RETRIES) and spread with full jitter, so writers that collided do not collide again
    in step; after the last one the StoreConflict goes up as one line."""

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        self = args[0]
        attempt = 0
        while True:
            try:
                return method(*args, **kwargs)
            except StoreConflict:
                if attempt >= self.conflict_retries:  # type: ignore[attr-defined]
                    raise
                ceiling = min(CONFLICT_CAP_S, CONFLICT_BASE_S * 2 ** attempt)
                self._sleep(self._rng.uniform(0, ceiling))  # type: ignore[attr-defined]
                attempt += 1
                self.conflicts_retried += 1  # type: ignore[attr-defined]

    return wrapper


def escape_like(text: str) -> str:
    """Escape LIKE wildcards with `!` (both dialects accept ESCAPE '!'; backslash differs between them)."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


def track_from_row(row: Sequence[Any]) -> Track:
    """Build a Track from `id` followed by TRACK_COLUMNS."""
    values = dict(zip(TRACK_COLUMNS, row[1:], strict=True))
    return Track(id=int(row[0]), **values)


def track_payload(track: Track) -> str:
    data = asdict(track.normalised())
    data.pop("id", None)
    return json.dumps(data, ensure_ascii=False)


class SqlLibrary:
    """Shared implementation over a DB-API connection; subclasses supply the dialect's few differences.

    One connection per instance, guarded by a lock so worker threads can share it; open one per process.
    """

    dialect: ClassVar[str] = ""
    ph: ClassVar[str] = "?"

    def __init__(self, url: DbUrl, conn: Any) -> None:
        self.url = url
        self._conn = conn
        self._lock = threading.RLock()
        self.conflict_retries = CONFLICT_RETRIES
        self.conflicts_retried = 0  # how many times a write was run again after a deadlock (for tests, stats)
        self._sleep: Callable[[float], None] = time.sleep
        self._rng = random.Random()

    # ---- dialect hooks -------------------------------------------------------------------------------
    def _upsert_track_sql(self) -> str:
        raise NotImplementedError

    def _upsert_vector_sql(self) -> str:
        raise NotImplementedError

    def _insert_job_sql(self) -> str:
        raise NotImplementedError

    def _claim_job_ids(self, cur: Any, limit: int) -> list[int]:
        raise NotImplementedError

    def _begin(self, cur: Any, write: bool = True) -> None:
        """Start a transaction (SQLite takes the write lock at once with BEGIN IMMEDIATE)."""

    def _translate(self, exc: Exception) -> Exception | None:
        """Turn a driver exception into a typed StoreError, or None when it is not a driver error."""
        raise NotImplementedError

    def _after_upsert_id(self, cur: Any, track: Track) -> int:
        raise NotImplementedError

    # ---- plumbing ------------------------------------------------------------------------------------
    def q(self, sql: str) -> str:
        """Write SQL with `?` placeholders; this swaps them for the dialect's."""
        return sql if self.ph == "?" else sql.replace("?", self.ph)

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Any]:
        """A cursor inside one transaction: committed on success, rolled back on any error."""
        with self._lock:
            try:
                cur = self._conn.cursor()
                self._begin(cur, write)
                try:
                    yield cur
                    self._conn.commit()
                except BaseException:
                    self._rollback()
                    raise
                finally:
                    cur.close()
            except StoreError:
                raise
            except Exception as exc:
                typed = self._translate(exc)
                if typed is None:
                    raise
                raise typed from None

    def _rollback(self) -> None:
        try:
            self._conn.rollback()
        except Exception as exc:  # the connection may already be gone; the original error matters more
            if self._translate(exc) is None:
                raise

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.transaction(write=False) as cur:
            cur.execute(self.q(sql), tuple(params))
            return list(cur.fetchall())

    def _bump(self, cur: Any) -> None:
        """Count a change to tracks or vectors; called last inside the writing transaction (short row lock)."""
        cur.execute("UPDATE library_changes SET counter = counter + 1 WHERE id = 1")

    def change_counter(self) -> int:
        """A number that grows with every committed change to tracks or vectors, by any process or user.

        One one-row read: cheap enough to poll every second (live library views, the persisted index)."""
        rows = self._read("SELECT counter FROM library_changes WHERE id = 1")
        return int(rows[0][0]) if rows else 0

    def change_stamp(self) -> tuple[float, int]:
        """(when this library was created, its change counter), in one read: together they tell a cache built
        for this library at this state from one built for another library that happens to share its path."""
        rows = self._read("SELECT (SELECT applied_at FROM schema_version WHERE version = 1), counter "
                          "FROM library_changes WHERE id = 1")
        return (float(rows[0][0] or 0.0), int(rows[0][1])) if rows else (0.0, 0)

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.close()
            except Exception as exc:
                if self._translate(exc) is None:
                    raise

    def __enter__(self) -> SqlLibrary:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- schema --------------------------------------------------------------------------------------
    def schema_version(self) -> int:
        rows = self._read("SELECT MAX(version) FROM schema_version")
        return int(rows[0][0] or 0)

    # ---- tracks --------------------------------------------------------------------------------------
    def _track_params(self, track: Track, now: float) -> tuple[Any, ...]:
        track = track.normalised()  # the one normalisation (core/text.py): identical values on every backend
        return (*(getattr(track, c) for c in TRACK_COLUMNS), now, now)

    def _upsert(self, cur: Any, track: Track) -> Track:
        track = track.normalised()
        cur.execute(self.q(self._upsert_track_sql()), self._track_params(track, time.time()))
        return track.with_id(self._after_upsert_id(cur, track))

    @retry_conflicts
    def upsert_track(self, track: Track) -> Track:
        """Insert a track, or update the one with the same (source, external_id). Returns it with its id."""
        with self.transaction() as cur:
            stored = self._upsert(cur, track)
            self._bump(cur)
            return stored

    def upsert_tracks(self, tracks: Iterable[Track], batch: int = 5000) -> int:
        """Bulk insert-or-update; returns how many rows were sent."""
        now = time.time()
        return self._executemany_batched(self.q(self._upsert_track_sql()),
                                         (self._track_params(t, now) for t in tracks), batch, changes=True)

    def _executemany_batched(self, sql: str, rows: Iterable[tuple[Any, ...]], batch: int,
                             changes: bool = False) -> int:
        """executemany in chunks of `batch` rows, one transaction each; returns how many rows were sent.
        `changes`: the rows change tracks or vectors, so each chunk bumps the change counter."""
        sent = 0
        chunk: list[tuple[Any, ...]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= batch:
                sent += self._executemany(sql, chunk, changes)
                chunk = []
        if chunk:
            sent += self._executemany(sql, chunk, changes)
        return sent

    @retry_conflicts
    def _executemany(self, sql: str, rows: list[tuple[Any, ...]], changes: bool = False) -> int:
        with self.transaction() as cur:
            cur.executemany(sql, rows)
            if changes:
                self._bump(cur)
        return len(rows)

    @retry_conflicts
    def save_analysis(self, track: Track, vector: FeatureVector | Sequence[FeatureVector], job_id: int | None = None,
                      worker: str | None = None) -> Track:
        """Write a track and its vector(s) together, in one transaction: all or nothing.

        With `job_id`, the job is marked done in the same transaction (if `worker` still holds it).
        """
        now = time.time()
        vectors = [vector] if isinstance(vector, FeatureVector) else list(vector)
        with self.transaction() as cur:
            stored = self._upsert(cur, track)
            for vec in vectors:
                cur.execute(self.q(self._upsert_vector_sql()), self._vector_params(stored.id, vec, now))
            if job_id is not None:
                cur.execute(self.q("UPDATE jobs SET state = 'done', last_error = NULL, track_id = ?, updated_at = ? "
                                   "WHERE id = ? AND (worker = ? OR ? IS NULL)"),
                            (stored.id, now, int(job_id), worker, worker))
            self._bump(cur)
            return stored

    def get_track(self, track_id: int) -> Track | None:
        rows = self._read(f"SELECT id, {', '.join(TRACK_COLUMNS)} FROM tracks WHERE id = ?",
                          (limits.track_id(track_id),))
        return track_from_row(rows[0]) if rows else None

    def find_track(self, source: str, external_id: str) -> Track | None:
        rows = self._read(f"SELECT id, {', '.join(TRACK_COLUMNS)} FROM tracks WHERE source = ? AND external_id = ?",
                          (clean_id(source), clean_id(external_id)))
        return track_from_row(rows[0]) if rows else None

    def find_tracks(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Track]:
        """Tracks by natural key (source, external_id), for the keys that exist: one query per 400 keys."""
        wanted = sorted({(str(s), str(e)) for s, e in keys})
        found: dict[tuple[str, str], Track] = {}
        for start in range(0, len(wanted), 400):
            part = wanted[start:start + 400]
            marks = " OR ".join(["(source = ? AND external_id = ?)"] * len(part))
            params = [v for key in part for v in key]
            for row in self._read(f"SELECT id, {', '.join(TRACK_COLUMNS)} FROM tracks WHERE {marks}", params):
                track = track_from_row(row)
                found[track.key] = track
        return found

    def get_tracks(self, ids: Iterable[int]) -> dict[int, Track]:
        """Tracks by id, for the ids that exist (queried in chunks)."""
        wanted = sorted({limits.track_id(i) for i in ids})
        found: dict[int, Track] = {}
        for start in range(0, len(wanted), 900):
            part = wanted[start:start + 900]
            marks = ", ".join("?" * len(part))
            for row in self._read(f"SELECT id, {', '.join(TRACK_COLUMNS)} FROM tracks WHERE id IN ({marks})", part):
                found[int(row[0])] = track_from_row(row)
        return found

    def _where_search(self, search: str | None) -> tuple[str, list[Any]]:
        if not search:
            return "", []
        pattern = f"%{escape_like(clean(search))}%"
        clause = " OR ".join(f"{c} LIKE ? ESCAPE '!'" for c in ("title", "artist", "album", "genre"))
        return f" WHERE ({clause})", [pattern] * 4

    def list_tracks(self, search: str | None = None, sort: str = "id", descending: bool = False,
                    limit: int | None = None, offset: int = 0) -> list[Track]:
        """Library rows, filtered by a substring of title/artist/album/genre, sorted, one page at a time."""
        if sort not in SORT_FIELDS:
            raise StoreError(f"cannot sort by {sort!r}", hint=f"choose one of: {', '.join(sorted(SORT_FIELDS))}")
        where, params = self._where_search(search)
        order = f" ORDER BY {sort} {'DESC' if descending else 'ASC'}, id {'DESC' if descending else 'ASC'}"
        page = ""
        if limit is not None:
            page = " LIMIT ? OFFSET ?"
            params += [limits.limit(limit), limits.offset(offset)]
        elif offset:
            page = " LIMIT ? OFFSET ?"
            params += [limits.MAX_INT64, limits.offset(offset)]
        rows = self._read(f"SELECT id, {', '.join(TRACK_COLUMNS)} FROM tracks{where}{order}{page}", params)
        return [track_from_row(r) for r in rows]

    def count_tracks(self, search: str | None = None) -> int:
        where, params = self._where_search(search)
        return int(self._read(f"SELECT COUNT(*) FROM tracks{where}", params)[0][0])

    @retry_conflicts
    def delete_track(self, track_id: int) -> bool:
        """Delete a track and (by cascade) its vectors. True when a row went."""
        with self.transaction() as cur:
            tid = limits.track_id(track_id)
            cur.execute(self.q("DELETE FROM vectors WHERE track_id = ?"), (tid,))
            cur.execute(self.q("DELETE FROM tracks WHERE id = ?"), (tid,))
            gone = bool(cur.rowcount > 0)
            if gone:
                self._bump(cur)
            return gone

    @retry_conflicts
    def set_preview(self, track_id: int, path: str | None, sha256: str | None) -> None:
        """Record (or clear) where a track's preview is cached."""
        with self.transaction() as cur:
            cur.execute(self.q("UPDATE tracks SET preview_path = ?, preview_sha256 = ? WHERE id = ?"),
                        (path, sha256, int(track_id)))

    # ---- vectors -------------------------------------------------------------------------------------
    def _vector_params(self, track_id: int | None, vector: FeatureVector, now: float) -> tuple[Any, ...]:
        return (int(track_id or 0), vector.extractor, int(vector.version), vector.dim, vector.to_blob(), now)

    def put_vectors(self, items: Iterable[tuple[int, FeatureVector]], batch: int = VECTOR_BATCH) -> int:
        """Insert or replace vectors in batches of `batch` rows; returns how many were written."""
        now = time.time()
        return self._executemany_batched(self.q(self._upsert_vector_sql()),
                                         (self._vector_params(tid, vec, now) for tid, vec in items), batch,
                                         changes=True)

    def get_vector(self, track_id: int, extractor: str) -> FeatureVector | None:
        rows = self._read("SELECT version, data FROM vectors WHERE track_id = ? AND extractor = ?",
                          (int(track_id), extractor))
        return FeatureVector.from_blob(extractor, int(rows[0][0]), bytes(rows[0][1])) if rows else None

    def vector_ids(self, extractor: str, version: int) -> np.ndarray:
        """Ids of the tracks that have a vector of this extractor version, ascending (cheap: no vector data)."""
        rows = self._read("SELECT track_id FROM vectors WHERE extractor = ? AND version = ? ORDER BY track_id",
                          (extractor, int(version)))
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def vector_stamps(self, extractor: str, version: int) -> tuple[np.ndarray, np.ndarray]:
        """(track ids ascending, when each vector was written) for one extractor version; no vector data."""
        rows = self._read("SELECT track_id, created_at FROM vectors WHERE extractor = ? AND version = ? "
                          "ORDER BY track_id", (extractor, int(version)))
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return ids, np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows))

    def load_matrix(self, extractor: str, version: int, ids: Iterable[int] | None = None) -> VectorMatrix:
        """All vectors of one extractor version (or those of `ids`) as a float32 matrix, ordered by track id.

        All of them come in one query; a subset in chunks of 900 ids."""
        if ids is None:
            rows = self._read("SELECT track_id, dim, data FROM vectors WHERE extractor = ? AND version = ? "
                              "ORDER BY track_id", (extractor, int(version)))
        else:
            wanted = sorted({int(i) for i in ids})
            rows = []
            for start in range(0, len(wanted), 900):
                part = wanted[start:start + 900]
                rows += self._read(f"SELECT track_id, dim, data FROM vectors WHERE extractor = ? AND version = ? "
                                   f"AND track_id IN ({', '.join('?' * len(part))}) ORDER BY track_id",
                                   (extractor, int(version), *part))
        if not rows:
            return VectorMatrix(extractor, version, np.zeros(0, np.int64), np.zeros((0, 0), np.float32))
        dims = {int(r[1]) for r in rows}
        if len(dims) != 1:
            raise StoreError(f"vectors of {extractor} v{version} have mixed dimensions {sorted(dims)}")
        dim = dims.pop()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        matrix = np.frombuffer(b"".join(bytes(r[2]) for r in rows), dtype="<f4").astype(np.float32)
        return VectorMatrix(extractor, version, ids, matrix.reshape(len(rows), dim))

    def vector_counts(self) -> dict[tuple[str, int], int]:
        """How many vectors each (extractor, version) has."""
        rows = self._read("SELECT extractor, version, COUNT(*) FROM vectors GROUP BY extractor, version")
        return {(str(r[0]), int(r[1])): int(r[2]) for r in rows}

    def tracks_without_vector(self, extractor: str, version: int) -> list[Track]:
        """Tracks with no vector of this extractor version (never analysed, or analysed by an older one)."""
        cols = ", ".join(f"t.{c}" for c in TRACK_COLUMNS)
        rows = self._read(f"SELECT t.id, {cols} FROM tracks t LEFT JOIN vectors v ON v.track_id = t.id "
                          "AND v.extractor = ? AND v.version = ? WHERE v.track_id IS NULL ORDER BY t.id",
                          (extractor, int(version)))
        return [track_from_row(r) for r in rows]

    # ---- jobs ----------------------------------------------------------------------------------------
    def _job_from_row(self, row: Sequence[Any]) -> Job:
        payload = json.loads(row[3])
        track = Track(**{k: v for k, v in payload.items() if k in Track.__dataclass_fields__ and k != "id"})
        return Job(id=int(row[0]), source=str(row[1]), external_id=str(row[2]), state=JobState(row[4]),
                   track=track, attempts=int(row[5]), last_error=row[6], worker=row[7],
                   track_id=int(row[8]) if row[8] is not None else None, updated_at=float(row[9]))

    @retry_conflicts
    def enqueue(self, tracks: Iterable[Track], requeue_failed: bool = False) -> list[Job]:
        """Queue tracks for ingest. Existing jobs are kept (a failed one is re-queued if asked); returns them all."""
        now = time.time()
        keys: list[tuple[str, str]] = []
        with self.transaction() as cur:
            for track in (t.normalised() for t in tracks):
                cur.execute(self.q(self._insert_job_sql()),
                            (track.source, track.external_id, track_payload(track), now, now))
                if requeue_failed:
                    cur.execute(self.q("UPDATE jobs SET state = 'queued', last_error = NULL, worker = NULL, "
                                       "attempts = 0, updated_at = ? WHERE source = ? AND external_id = ? "
                                       "AND state = 'failed'"), (now, track.source, track.external_id))
                keys.append(track.key)
        return [job for key in keys if (job := self.find_job(*key)) is not None]

    def find_job(self, source: str, external_id: str) -> Job | None:
        rows = self._read(f"SELECT {JOB_COLUMNS} FROM jobs WHERE source = ? AND external_id = ?",
                          (clean_id(source), clean_id(external_id)))
        return self._job_from_row(rows[0]) if rows else None

    def get_job(self, job_id: int) -> Job | None:
        rows = self._read(f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?", (int(job_id),))
        return self._job_from_row(rows[0]) if rows else None

    @retry_conflicts
    def claim_jobs(self, worker: str, limit: int = 1) -> list[Job]:
        """Atomically take up to `limit` queued jobs for `worker` (state → downloading, attempts + 1)."""
        now = time.time()
        with self.transaction() as cur:
            ids = self._claim_job_ids(cur, limit)
            if not ids:
                return []
            marks = ", ".join("?" * len(ids))
            cur.execute(self.q(f"UPDATE jobs SET state = 'downloading', worker = ?, attempts = attempts + 1, "
                               f"updated_at = ? WHERE id IN ({marks})"), (worker, now, *ids))
            cur.execute(self.q(f"SELECT {JOB_COLUMNS} FROM jobs WHERE id IN ({marks}) ORDER BY id"), tuple(ids))
            return [self._job_from_row(r) for r in cur.fetchall()]

    @retry_conflicts
    def update_job(self, job_id: int, state: JobState, error: str | None = None,
                   track_id: int | None = None, worker: str | None = None) -> None:
        """Move a job to `state`; `error` is recorded for failures, `track_id` once stored.

        With `worker`, only a job still claimed by that worker is touched (a requeued job is not clobbered).
        """
        sql = "UPDATE jobs SET state = ?, last_error = ?, track_id = COALESCE(?, track_id), updated_at = ? " \
              "WHERE id = ?"
        reason = clean_name(error, MAX_ERROR_CHARS) if error is not None else None
        params: list[Any] = [state.value, reason, track_id, time.time(), int(job_id)]
        if worker is not None:
            sql += " AND worker = ?"
            params.append(worker)
        with self.transaction() as cur:
            cur.execute(self.q(sql), params)

    def list_jobs(self, states: Iterable[JobState] | None = None, limit: int | None = None) -> list[Job]:
        sql = f"SELECT {JOB_COLUMNS} FROM jobs"
        params: list[Any] = []
        wanted = [s.value for s in states] if states is not None else []
        if states is not None:
            if not wanted:
                return []
            sql += f" WHERE state IN ({', '.join('?' * len(wanted))})"
            params += wanted
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [self._job_from_row(r) for r in self._read(sql, params)]

    def job_counts(self) -> dict[JobState, int]:
        counts = {s: 0 for s in JobState}
        for state, n in self._read("SELECT state, COUNT(*) FROM jobs GROUP BY state"):
            counts[JobState(state)] = int(n)
        return counts

    @retry_conflicts
    def requeue_stale(self, older_than: float) -> int:
        """Give back jobs left mid-flight (a crashed or killed worker) for longer than `older_than` seconds."""
        now = time.time()
        with self.transaction() as cur:
            cur.execute(self.q("UPDATE jobs SET state = 'queued', worker = NULL, updated_at = ? "
                               "WHERE state IN ('downloading', 'analysing') AND updated_at < ?"),
                        (now, now - older_than))
            return int(cur.rowcount)

    def inflight_workers(self) -> set[str]:
        """Workers holding jobs mid-flight (downloading or analysing)."""
        rows = self._read("SELECT DISTINCT worker FROM jobs WHERE state IN ('downloading', 'analysing') "
                          "AND worker IS NOT NULL")
        return {str(r[0]) for r in rows}

    @retry_conflicts
    def release_jobs(self, worker: str) -> int:
        """Give `worker`'s unfinished jobs back to the queue (it stopped, or it died)."""
        with self.transaction() as cur:
            cur.execute(self.q("UPDATE jobs SET state = 'queued', worker = NULL, updated_at = ? "
                               "WHERE worker = ? AND state IN ('downloading', 'analysing')"), (time.time(), worker))
            return int(cur.rowcount)

    @retry_conflicts
    def retry_failed(self) -> int:
        """Put every failed job back in the queue."""
        with self.transaction() as cur:
            cur.execute(self.q("UPDATE jobs SET state = 'queued', worker = NULL, attempts = 0, last_error = NULL, "
                               "updated_at = ? WHERE state = 'failed'"), (time.time(),))
            return int(cur.rowcount)

    @retry_conflicts
    def cancel_queued(self, reason: str = "cancelled") -> int:
        """Mark every still-queued job failed with `reason`."""
        with self.transaction() as cur:
            cur.execute(self.q("UPDATE jobs SET state = 'failed', last_error = ?, updated_at = ? "
                               "WHERE state = 'queued'"), (clean_name(reason, MAX_ERROR_CHARS), time.time()))
            return int(cur.rowcount)

    @retry_conflicts
    def clear_finished_jobs(self) -> int:
        """Forget done jobs (their tracks stay in the library)."""
        with self.transaction() as cur:
            cur.execute("DELETE FROM jobs WHERE state = 'done'")
            return int(cur.rowcount)
