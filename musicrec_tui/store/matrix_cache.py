"""The similarity index persisted on disk, memory-mapped, versioned by the library's change counter.

Why: building the index from the database costs seconds at 100,000 tracks (reading every vector, fitting the
standardisation, the mutual-proximity moments); a command that answers one query should not pay that each
time. So the index's arrays are saved once and memory-mapped by the next process, which checks with one
one-row read (`SqlLibrary.change_stamp`) that the library has not changed since.

Where: beside a SQLite library (`library.sqlite3` -> `library.sqlite3.index/`), or for MySQL in the user's
cache directory, under a name derived from the server and database (`index/mysql-<sha256(host:port/db)>/`):
never the user name or the password. One file per extractor and version (`musicnn-v1.idx`); folders 0700,
files 0600.

When the library changed: the vectors' write times (`vector_stamps`, no vector data) tell which rows are new,
rewritten (re-analysed) or gone; only the new and rewritten vectors are read from the database, the rest come
from the saved raw matrix. The index is then rebuilt from that raw matrix exactly as a fresh build would (same
rows, same order, same statistics): results never depend on what the cache went through. The file is written
again only when something changed.

Safety: a file is written under a temporary name and renamed into place (atomic: a reader sees the old file or
the new one, never half of one; two racing writers each rename a complete file). Its header carries a format
version, the library's identity (when its schema was created) and counter, the parameters, and a CRC of the
header; every array section carries a checksum (a 64-bit wrapping sum of its words) checked before use, and the
file's length is checked against the header. Anything that does not match is ignored and rebuilt, silently;
a cache folder that cannot be written only costs speed. No fsync: a file damaged by a crash fails its checks.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mmap
import os
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.ann import GraphParams, HnswGraph
from ..core.features.base import Extractor
from ..core.index import IndexState, SimilarityIndex
from ..core.models import VectorMatrix
from .protocol import Library
from .url import DbUrl

FORMAT = 1
MAGIC = b"MRXINDEX"
_PREFIX = struct.Struct("<8sII")  # magic, header length, header crc32
_ALIGN = 4096


class CacheInvalid(Exception):
    """A cache file that cannot be used as it is (missing, foreign, stale format, damaged)."""


def index_dir(url: DbUrl, cache_dir: Path) -> Path:
    """Where the persisted index of the library at `url` lives (see the module's docstring)."""
    if url.scheme == "sqlite" and url.path is not None:
        return url.path.parent / f"{url.path.name}.index"
    where = f"{url.host.lower()}:{url.port}/{url.database}"
    return cache_dir / "index" / f"mysql-{hashlib.sha256(where.encode()).hexdigest()[:24]}"


def library_label(url: DbUrl) -> str:
    """The library a cache file belongs to, as written in its header: a path, or server and database only."""
    if url.scheme == "sqlite":
        return f"sqlite://{url.path}"
    return f"mysql://{url.host.lower()}:{url.port}/{url.database}"


# ---- file format ------------------------------------------------------------------------------------------
def _checksum(buf: memoryview | bytes | np.ndarray) -> int:
    """64-bit wrapping sum of the little-endian words of `buf` (zero-padded to 8 bytes)."""
    data = np.frombuffer(buf, dtype=np.uint8)
    whole = data.shape[0] // 8 * 8
    total = int(np.frombuffer(data[:whole], dtype="<u8").sum(dtype=np.uint64)) if whole else 0
    if whole < data.shape[0]:
        tail = bytes(data[whole:]) + b"\0" * (8 - (data.shape[0] - whole))
        total += int.from_bytes(tail, "little")
    return total % (1 << 64)


@dataclass(slots=True)
class CacheFile:
    """A cache file mapped read-only: its header and lazily checked sections."""

    path: Path
    header: dict[str, Any]
    _map: mmap.mmap
    _checked: set[str]

    @classmethod
    def open(cls, path: Path) -> CacheFile:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise CacheInvalid(str(exc)) from None
        try:
            size = os.fstat(fd).st_size
            if size < _PREFIX.size:
                raise CacheInvalid("too short")
            mm = mmap.mmap(fd, size, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise CacheInvalid(str(exc)) from None
        finally:
            os.close(fd)
        try:
            magic, length, crc = _PREFIX.unpack_from(mm, 0)
            if magic != MAGIC or _PREFIX.size + length > size:
                raise CacheInvalid("not an index file")
            raw_header = mm[_PREFIX.size:_PREFIX.size + length]
            if zlib.crc32(raw_header) != crc:
                raise CacheInvalid("header checksum")
            header = json.loads(raw_header)
            if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("size") != size:
                raise CacheInvalid("format or size")
            sections = header.get("sections")
            if not isinstance(sections, dict):
                raise CacheInvalid("no sections")
            for spec in sections.values():
                offset, _dtype, shape, _sum = spec
                nbytes = int(np.dtype(_dtype).itemsize) * int(np.prod(shape, dtype=np.int64))
                if offset % _ALIGN or offset + nbytes > size:
                    raise CacheInvalid("section out of bounds")
        except CacheInvalid:
            mm.close()
            raise
        except (ValueError, TypeError, KeyError, struct.error) as exc:
            mm.close()
            raise CacheInvalid(f"header: {type(exc).__name__}") from None
        return cls(path, header, mm, set())

    def has(self, name: str) -> bool:
        return name in self.header["sections"]

    def array(self, name: str) -> np.ndarray:
        """A read-only view of one section, its checksum verified on first use (CacheInvalid otherwise)."""
        offset, dtype, shape, expected = self.header["sections"][name]
        count = int(np.prod(shape, dtype=np.int64))
        nbytes = np.dtype(dtype).itemsize * count
        if name not in self._checked:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                self._map.madvise(mmap.MADV_WILLNEED, offset, nbytes)
            if _checksum(memoryview(self._map)[offset:offset + nbytes]) != int(expected):
                raise CacheInvalid(f"section {name} checksum")
            self._checked.add(name)
        return np.frombuffer(self._map, dtype=np.dtype(dtype), count=count, offset=offset).reshape(shape)


def write_cache(path: Path, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """Write a cache file atomically (temporary name in the same folder, then rename), mode 0600."""
    sections: dict[str, list[Any]] = {}
    layout: list[tuple[int, np.ndarray]] = []
    body = dict(header, format=FORMAT)
    # two passes: the header's length decides where the first section starts
    for _ in range(2):
        head_len = len(json.dumps({**body, "sections": sections, "size": 0}).encode()) + 256
        offset = _round_up(_PREFIX.size + head_len)
        sections, layout = {}, []
        for name, arr in arrays.items():
            a = np.ascontiguousarray(arr)
            sections[name] = [offset, a.dtype.str, list(a.shape), _checksum(a.view(np.uint8).reshape(-1).data)]
            layout.append((offset, a))
            offset = _round_up(offset + a.nbytes)
        size = offset
    raw_header = json.dumps({**body, "sections": sections, "size": size}).encode()
    if layout and _PREFIX.size + len(raw_header) > layout[0][0]:
        raise AssertionError("header outgrew its room")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(_PREFIX.pack(MAGIC, len(raw_header), zlib.crc32(raw_header)))
            fh.write(raw_header)
            for at, a in layout:
                fh.write(b"\0" * (at - fh.tell()))
                fh.write(a.view(np.uint8).reshape(-1).data)
            fh.write(b"\0" * (size - fh.tell()))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _round_up(n: int) -> int:
    return (n + _ALIGN - 1) // _ALIGN * _ALIGN


# ---- the index, kept in step with the library -------------------------------------------------------------
_STATE_ARRAYS = ("ids", "raw", "rows", "centre", "scale", "factor", "mp_mu", "mp_sd", "row_sum", "gram")
_HOT = ("ids", "raw", "rows", "centre", "scale", "factor", "mp_mu", "mp_sd", "row_sum", "gram")


@dataclass(frozen=True, slots=True)
class LoadReport:
    """How `load_index` got its index: reused as saved, synced (rows read from the DB), or built from scratch."""

    how: str
    fetched: int
    dropped: int
    rows: int


class PersistedIndex:
    """One extractor's index over one library, saved under `directory` (None: nothing is saved)."""

    def __init__(self, library: Library, extractor: Extractor, hubness: str, directory: Path | None,
                 weights: Mapping[str, float] | None = None, approximate_above: int = 0,
                 graph_params: GraphParams | None = None) -> None:
        self.library = library
        self.extractor = extractor
        self.hubness = hubness
        self.weights = weights
        self.path = directory / f"{extractor.name}-v{extractor.version}.idx" if directory else None
        # from this many rows on, queries go through an approximate graph saved beside (core/ann.py); 0: never
        self.approximate_above = approximate_above
        self.graph_params = graph_params or GraphParams()
        self.last: LoadReport | None = None
        self.graph_how: str | None = None

    def load(self, stamp: tuple[float, int] | None = None) -> SimilarityIndex:
        """The index of the library as it is now: the saved one when still current, else brought up to date."""
        birth, counter = stamp if stamp is not None else self.library.change_stamp()
        cached = self._open()
        if cached is not None and cached.header.get("birth") == birth:
            if cached.header.get("counter") == counter:
                index = self._restore(cached)
                if index is not None:
                    self.last = LoadReport("reused", 0, 0, len(index))
                    return self._with_graph(index, cached, None)
        else:
            cached = None
        index, stamps, report = self._sync(cached)
        index.prepare()
        self._save(index, stamps, birth, counter)
        self.last = report
        return self._with_graph(index, None, stamps)

    # ---- the approximate graph, past `approximate_above` rows ----------------------------------------------
    def _with_graph(self, index: SimilarityIndex, cached: CacheFile | None, stamps: np.ndarray | None
                    ) -> SimilarityIndex:
        self.graph_how = None
        if self.path is None or not self.approximate_above or len(index) < self.approximate_above:
            return index
        if stamps is None:
            try:
                stamps = cached.array("stamps") if cached is not None else None
            except (CacheInvalid, KeyError):
                stamps = None
        if stamps is None:
            return index
        index.use_graph(self._graph(index, np.asarray(stamps)))
        return index

    def _graph(self, index: SimilarityIndex, stamps: np.ndarray) -> HnswGraph:
        """The saved graph, brought in step with the index (tracks removed and added by id), or a new one."""
        assert self.path is not None
        gpath, mpath = self.path.with_suffix(".hnsw"), self.path.with_suffix(".hnsw.meta")
        ids = np.asarray(index.ids)
        try:
            meta = CacheFile.open(mpath)
            h = meta.header
            if (h.get("graph_size") != gpath.stat().st_size or h.get("dim") != index.dim
                    or h.get("params") != list(_params(self.graph_params))):
                raise CacheInvalid("graph does not match its description")
            with gpath.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                if _checksum(memoryview(mm)) != h.get("graph_sum"):
                    raise CacheInvalid("graph checksum")
            g_ids, g_stamps = meta.array("ids"), meta.array("stamps")
        except (CacheInvalid, OSError, KeyError, ValueError):
            return self._new_graph(index, stamps, gpath, mpath)
        found, at = _positions(g_ids, ids)
        same = found & (g_stamps[np.where(found, at, 0)] == stamps)
        add = ids[~same]
        kept = np.zeros(g_ids.shape[0], bool)
        kept[at[same]] = True
        remove = g_ids[~kept]
        changed = int(h.get("changed", 0)) + int(add.shape[0]) + int(remove.shape[0])
        try:
            if not add.shape[0] and not remove.shape[0]:
                self.graph_how = "reused"
                return HnswGraph.open(gpath, index.dim, self.graph_params, view=True)
            if changed > 0.25 * max(1, len(index)):  # rows re-standardised since the build: start afresh
                return self._new_graph(index, stamps, gpath, mpath)
            graph = HnswGraph.open(gpath, index.dim, self.graph_params, view=False)
            graph.remove(remove)
            graph.add(add, index.rows[index.rows_of(add)])
        except ValueError:
            return self._new_graph(index, stamps, gpath, mpath)
        self.graph_how = "updated"
        self._save_graph(graph, ids, stamps, gpath, mpath, changed)
        return graph

    def _new_graph(self, index: SimilarityIndex, stamps: np.ndarray, gpath: Path, mpath: Path) -> HnswGraph:
        graph = HnswGraph.build(np.asarray(index.ids), index.rows, self.graph_params)
        self.graph_how = "built"
        self._save_graph(graph, np.asarray(index.ids), stamps, gpath, mpath, 0)
        return graph

    def _save_graph(self, graph: HnswGraph, ids: np.ndarray, stamps: np.ndarray, gpath: Path, mpath: Path,
                    changed: int) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            graph.save(gpath)
            with gpath.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                total = _checksum(memoryview(mm))
            write_cache(mpath, {"graph_size": gpath.stat().st_size, "graph_sum": total, "dim": graph.dim,
                                "params": list(_params(self.graph_params)), "changed": changed},
                        {"ids": np.asarray(ids, np.int64), "stamps": np.asarray(stamps, np.float64)})

    def _open(self) -> CacheFile | None:
        if self.path is None:
            return None
        try:
            cached = CacheFile.open(self.path)
        except CacheInvalid:
            return None
        h = cached.header
        ok = (h.get("extractor") == self.extractor.name and h.get("version") == self.extractor.version
              and h.get("dim") == self.extractor.dim)
        return cached if ok else None

    def _restore(self, cached: CacheFile) -> SimilarityIndex | None:
        h = cached.header
        if self.hubness == "mp" and not cached.has("gram") and h.get("n"):
            return None
        try:
            arrays = {name: cached.array(name) for name in _HOT if cached.has(name)}
            state = IndexState(
                ids=arrays["ids"], raw=arrays["raw"], rows=arrays["rows"], centre=arrays["centre"],
                scale=arrays["scale"], factor=arrays["factor"], robust=bool(h["robust"]), clip=float(h["clip"]),
                robust_below=int(h["robust_below"]), fitted_on=int(h["fitted_on"]), stale=int(h["stale"]),
                mp_mu=arrays.get("mp_mu"), mp_sd=arrays.get("mp_sd"), row_sum=arrays.get("row_sum"),
                gram=arrays.get("gram"))
            return SimilarityIndex.from_state(state, self.extractor.name, self.extractor.version,
                                              self.extractor.groups, weights=self.weights, hubness=self.hubness)
        except (CacheInvalid, KeyError, ValueError, TypeError):
            return None

    def _sync(self, cached: CacheFile | None) -> tuple[SimilarityIndex, np.ndarray, LoadReport]:
        """Rebuild from the library: the saved raw rows whose write time still matches, the others from the DB."""
        ext = self.extractor
        ids, stamps = self.library.vector_stamps(ext.name, ext.version)
        base_ids = base_stamps = base_raw = None
        if cached is not None:
            try:
                base_ids, base_stamps = cached.array("ids"), cached.array("stamps")
                base_raw = cached.array("raw")
            except (CacheInvalid, KeyError):
                base_ids = base_stamps = base_raw = None
        if base_ids is None or base_stamps is None or base_raw is None or base_raw.shape[1:] != (ext.dim,):
            vm = self.library.load_matrix(ext.name, ext.version)
            raw = vm.matrix if len(vm) else np.zeros((0, ext.dim), np.float32)
            have, pos = _positions(ids, np.asarray(vm.ids, np.int64))
            keep_ids, keep_raw, keep_stamps = np.asarray(vm.ids, np.int64)[have], raw[have], stamps[pos[have]]
            how, fetched, dropped = "built", len(vm), 0
        else:
            found, at = _positions(base_ids, ids)
            same = found & (base_stamps[np.where(found, at, 0)] == stamps)
            need = ids[~same]
            fresh = self.library.load_matrix(ext.name, ext.version, need) if need.size else None
            fresh_ids = np.asarray(fresh.ids, np.int64) if fresh is not None and len(fresh) else np.zeros(0, np.int64)
            fresh_raw = fresh.matrix if fresh is not None and len(fresh) else np.zeros((0, ext.dim), np.float32)
            all_ids = np.concatenate([ids[same], fresh_ids])
            order = np.argsort(all_ids, kind="stable")
            keep_ids = all_ids[order]
            keep_raw = np.concatenate([base_raw[at[same]], fresh_raw])[order]
            _, spos = _positions(ids, keep_ids)
            keep_stamps = stamps[spos]
            how, fetched, dropped = "synced", int(fresh_ids.shape[0]), int(base_ids.shape[0] - np.count_nonzero(same))
        matrix = VectorMatrix(ext.name, ext.version, keep_ids, np.ascontiguousarray(keep_raw, np.float32))
        index = SimilarityIndex(matrix, ext.groups, weights=self.weights, hubness=self.hubness)
        return index, keep_stamps, LoadReport(how, fetched, dropped, len(index))

    def _save(self, index: SimilarityIndex, stamps: np.ndarray, birth: float, counter: int) -> None:
        if self.path is None:
            return
        st = index.state()
        arrays = {name: getattr(st, name) for name in _STATE_ARRAYS if getattr(st, name) is not None}
        arrays["stamps"] = np.asarray(stamps, np.float64)
        url = getattr(self.library, "url", None)
        header = {"library": library_label(url) if isinstance(url, DbUrl) else "", "birth": birth, "counter": counter,
                  "extractor": self.extractor.name, "version": self.extractor.version, "dim": self.extractor.dim,
                  "n": len(index), "robust": st.robust, "clip": st.clip, "robust_below": st.robust_below,
                  "fitted_on": st.fitted_on, "stale": st.stale}
        with contextlib.suppress(OSError):  # an unwritable cache folder only costs speed
            write_cache(self.path, header, arrays)


def _params(p: GraphParams) -> tuple[int, int, int, str]:
    return (p.connectivity, p.expansion_add, p.expansion_search, p.dtype)


def _positions(haystack: np.ndarray, needles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(found mask, index into the sorted `haystack`) for each needle."""
    if haystack.shape[0] == 0:
        return np.zeros(needles.shape[0], bool), np.zeros(needles.shape[0], np.intp)
    pos = np.minimum(np.searchsorted(haystack, needles), haystack.shape[0] - 1)
    return haystack[pos] == needles, pos
