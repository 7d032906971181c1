"""The candidates store: songs Discover found in the catalogue and analysed, kept apart from the library.

A discovery downloads and analyses previews of songs the user does not have. Their vectors are kept here, in
a SQLite file in the cache directory (`candidates.sqlite3`), so a later discovery that meets the same song
reuses the analysis instead of downloading and analysing it again. Nothing here is in the library: the library
only changes when the user adds a candidate (through the normal ingest queue).

Entries expire: one older than `max_age_s` (default 30 days, `[discover] max_age_days`) is treated as absent and
purged when the store is opened; catalogue metadata and preview URLs go stale, and the analysis is cheap to
redo. A candidate whose preview could not be used (no preview, undecodable, silent, too short, gone) is kept
with its reason, so later discoveries skip it without a download and still count the reason. Network failures
are not kept: the next discovery tries again.

Rows are keyed by iTunes trackId. In a similarity index a candidate's id is `-trackId` (library ids are
positive), see `index_id`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..core.errors import StoreUnavailable
from ..core.itunes import CatalogueSong
from ..core.models import FeatureVector, Track, VectorMatrix
from ..core.text import clean

DEFAULT_MAX_AGE_S = 30 * 24 * 3600.0
FILE_NAME = "candidates.sqlite3"
SCHEMA_VERSION = 1
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS candidates (itunes_track_id INTEGER PRIMARY KEY, payload TEXT NOT NULL, "
    "artist_id INTEGER, collection_id INTEGER, found_by TEXT NOT NULL, state TEXT NOT NULL, error TEXT, "
    "updated_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS candidate_vectors (itunes_track_id INTEGER NOT NULL, extractor TEXT NOT NULL, "
    "version INTEGER NOT NULL, dim INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (itunes_track_id, extractor), "
    "FOREIGN KEY (itunes_track_id) REFERENCES candidates (itunes_track_id) ON DELETE CASCADE)",
    "CREATE INDEX IF NOT EXISTS candidates_updated ON candidates (updated_at)",
)
ANALYSED, FAILED = "analysed", "failed"


def index_id(itunes_track_id: int) -> int:
    """A candidate's id in a similarity index shared with the library: negative, so it never meets a library id."""
    return -int(itunes_track_id)


def itunes_id(index_id_: int) -> int:
    return -int(index_id_)


@dataclass(frozen=True, slots=True)
class StoredCandidate:
    """A candidate as kept: the song, how it was last found, and either analysed or failed with a reason."""

    song: CatalogueSong
    found_by: tuple[str, ...]
    state: str
    error: str | None
    updated_at: float

    @property
    def analysed(self) -> bool:
        return self.state == ANALYSED


class CandidateStore:
    """Thread-safe (one connection, one lock); open one per process."""

    def __init__(self, path: str | Path, max_age_s: float = DEFAULT_MAX_AGE_S) -> None:
        self.path = Path(path)
        self.max_age_s = float(max_age_s)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None,
                                         check_same_thread=False)
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA journal_mode = WAL")
            with self._tx() as cur:
                for stmt in _SCHEMA:
                    cur.execute(stmt)
                cur.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"cannot open the candidates store {self.path}: {exc}") from None
        self.purge_expired()

    # ---- plumbing --------------------------------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                cur.close()

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return list(self._conn.execute(sql, tuple(params)).fetchall())
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"candidates store {self.path}: {exc}") from None

    def _fresh_after(self) -> float:
        return time.time() - self.max_age_s

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> CandidateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- reads -----------------------------------------------------------------------------------------
    def get_many(self, itunes_ids: Iterable[int]) -> dict[int, StoredCandidate]:
        """The fresh (not expired) entries among `itunes_ids`, by trackId."""
        wanted = sorted({int(i) for i in itunes_ids})
        found: dict[int, StoredCandidate] = {}
        for start in range(0, len(wanted), 900):
            part = wanted[start:start + 900]
            rows = self._read(
                "SELECT itunes_track_id, payload, artist_id, collection_id, found_by, state, error, updated_at "
                f"FROM candidates WHERE updated_at >= ? AND itunes_track_id IN ({', '.join('?' * len(part))})",
                (self._fresh_after(), *part))
            for row in rows:
                found[int(str(row[0]))] = _from_row(row)
        return found

    def load_matrix(self, extractor: str, version: int, itunes_ids: Iterable[int] | None = None) -> VectorMatrix:
        """Fresh analysed candidates' vectors of one extractor version; `ids` are index ids (-trackId),
        ascending."""
        base = ("SELECT v.itunes_track_id, v.dim, v.data FROM candidate_vectors v JOIN candidates c "
                "ON c.itunes_track_id = v.itunes_track_id WHERE v.extractor = ? AND v.version = ? "
                "AND c.state = 'analysed' AND c.updated_at >= ?")
        params: list[object] = [extractor, int(version), self._fresh_after()]
        rows: list[tuple[Any, ...]] = []
        if itunes_ids is None:
            rows = self._read(base, params)
        else:
            wanted = sorted({int(i) for i in itunes_ids})
            for start in range(0, len(wanted), 900):
                part = wanted[start:start + 900]
                rows += self._read(base + f" AND v.itunes_track_id IN ({', '.join('?' * len(part))})",
                                   (*params, *part))
        rows = [r for r in rows if int(str(r[1])) > 0]
        if not rows:
            return VectorMatrix(extractor, version, np.zeros(0, np.int64), np.zeros((0, 0), np.float32))
        rows.sort(key=lambda r: -int(str(r[0])))  # index ids ascending
        dim = int(str(rows[0][1]))
        rows = [r for r in rows if int(str(r[1])) == dim]
        ids = np.fromiter((index_id(int(str(r[0]))) for r in rows), dtype=np.int64, count=len(rows))
        data = b"".join(bytes(r[2]) for r in rows)
        matrix = np.frombuffer(data, dtype="<f4").astype(np.float32).reshape(len(rows), dim)
        return VectorMatrix(extractor, version, ids, matrix)

    def count(self) -> dict[str, int]:
        """Fresh entries by state."""
        rows = self._read("SELECT state, COUNT(*) FROM candidates WHERE updated_at >= ? GROUP BY state",
                          (self._fresh_after(),))
        return {str(r[0]): int(str(r[1])) for r in rows}

    # ---- writes ----------------------------------------------------------------------------------------
    def save_analysed(self, song: CatalogueSong, found_by: Sequence[str], vectors: Sequence[FeatureVector]) -> None:
        """Keep a candidate with its vectors (all written together, replacing any older entry)."""
        self._save(song, found_by, ANALYSED, None, vectors)

    def save_failed(self, song: CatalogueSong, found_by: Sequence[str], reason: str) -> None:
        """Keep a candidate whose preview cannot be analysed, with the one-line reason."""
        self._save(song, found_by, FAILED, clean(reason), ())

    def _save(self, song: CatalogueSong, found_by: Sequence[str], state: str, error: str | None,
              vectors: Sequence[FeatureVector]) -> None:
        tid = song.track.itunes_track_id
        if tid is None:
            raise ValueError("a candidate needs an iTunes trackId")
        payload = asdict(song.track)
        payload.pop("id", None)
        now = time.time()
        try:
            with self._tx() as cur:
                cur.execute("DELETE FROM candidate_vectors WHERE itunes_track_id = ?", (tid,))
                cur.execute("INSERT OR REPLACE INTO candidates (itunes_track_id, payload, artist_id, collection_id, "
                            "found_by, state, error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (tid, json.dumps(payload, ensure_ascii=False), song.artist_id, song.collection_id,
                             json.dumps(list(found_by), ensure_ascii=False), state, error, now))
                cur.executemany("INSERT INTO candidate_vectors (itunes_track_id, extractor, version, dim, data) "
                                "VALUES (?, ?, ?, ?, ?)",
                                [(tid, v.extractor, int(v.version), v.dim, v.to_blob()) for v in vectors])
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"candidates store {self.path}: {exc}") from None

    def purge_expired(self) -> int:
        """Delete entries older than the age limit (their vectors go with them). Returns how many went."""
        try:
            with self._tx() as cur:
                cur.execute("DELETE FROM candidates WHERE updated_at < ?", (self._fresh_after(),))
                return int(cur.rowcount)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"candidates store {self.path}: {exc}") from None


def open_candidate_store(settings: Settings) -> CandidateStore:
    """The candidates store of these settings: `candidates.sqlite3` in the cache dir, `[discover] max_age_days`."""
    from ..config import ensure_writable_dir

    folder = ensure_writable_dir(settings.paths.cache_dir, "cache")
    return CandidateStore(folder / FILE_NAME, max_age_s=settings.discover_max_age_days * 24 * 3600.0)


def _from_row(row: Sequence[object]) -> StoredCandidate:
    data = json.loads(str(row[1]))
    track = Track(**{k: v for k, v in data.items() if k in Track.__dataclass_fields__ and k != "id"})
    found = json.loads(str(row[4]))
    song = CatalogueSong(track, int(str(row[2])) if row[2] is not None else None,
                         int(str(row[3])) if row[3] is not None else None)
    return StoredCandidate(song, tuple(str(f) for f in found) if isinstance(found, list) else (),
                           str(row[5]), str(row[6]) if row[6] is not None else None, float(str(row[7])))
