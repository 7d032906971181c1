"""Preview fetch cost per track against the local fake iTunes server (prints figures; not a test).

Run from the repository root: `python -m benchmarks.fetch_bench [N]`. All figures are medians over N distinct
30 s previews, measured in this run, with a plain in-memory download as the baseline:
  download   requests GET into memory (baseline)
  fetch      PreviewCache.fetch: stream to a temp file, sha256, fsync, decode + analysable check, rename
  probe      the same with check="probe" (decodes the first 5.5 s only)
  decode     core.audio.decode of the cached file (what fetch's check costs, and what analysis repeats)
  reuse      PreviewCache.fetch of a cached file (sha256 of the file, no request)
  scan       PreviewCache.evict over 4,000 cached files (what a download would cost if it always scanned)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

from musicrec_tui.core.audio import decode
from musicrec_tui.core.fetch import RESCAN_EVERY, PreviewCache
from musicrec_tui.core.models import Track
from tests.fake_itunes import FakeItunes, Previews


def main(n: int = 24) -> None:
    kinds = [f"chord:{i}" for i in range(7)] + [f"drums:{b}" for b in (80, 100, 120, 140, 160)]
    kinds += [f"noise:{i}" for i in range(4)] + ["sweep"]
    t0 = time.perf_counter()
    previews = Previews(seconds=30.0)
    with FakeItunes(previews, clock=time.monotonic) as server:
        items = server.add_tracks(n, kinds=kinds)
        for item in items:
            previews.get(item["_preview"])
        print(f"encoded {len(set(kinds[:n]))} distinct 30 s previews in {time.perf_counter() - t0:.1f} s")
        tracks = [Track("itunes", str(it["trackId"]), it["trackName"], it["artistName"],
                        preview_url=it["previewUrl"]) for it in items]
        session = requests.Session()
        timings: dict[str, list[float]] = {k: [] for k in ("download", "fetch", "probe", "decode", "reuse")}
        sizes = []
        with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as tmp2:
            cache = PreviewCache(tmp, session=session)
            probing = PreviewCache(tmp2, session=session, check="probe")
            for track in tracks:
                t = time.perf_counter()
                body = session.get(track.preview_url, timeout=10).content
                timings["download"].append(time.perf_counter() - t)
                sizes.append(len(body))
                t = time.perf_counter()
                got = cache.fetch(track)
                timings["fetch"].append(time.perf_counter() - t)
                t = time.perf_counter()
                probing.fetch(track)
                timings["probe"].append(time.perf_counter() - t)
                t = time.perf_counter()
                decode(got.path)
                timings["decode"].append(time.perf_counter() - t)
                t = time.perf_counter()
                cache.fetch(track)
                timings["reuse"].append(time.perf_counter() - t)
        base = statistics.median(timings["download"])
        print(f"{n} previews, median size {statistics.median(sizes) / 1024:.0f} KiB")
        for name, values in timings.items():
            med = statistics.median(values)
            print(f"  {name:<8} median {med * 1000:7.1f} ms   x{med / base:5.1f} of download")
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(4000):
            Path(tmp, f"itunes-{i}.m4a").write_bytes(b"x")
        cache = PreviewCache(tmp)
        runs = []
        for _ in range(5):
            t = time.perf_counter()
            cache.evict()
            runs.append(time.perf_counter() - t)
        scan = statistics.median(runs)
        print(f"  scan of 4,000 cached files (evict) {scan * 1000:.1f} ms: x{scan / base:.1f} of a download, "
              f"so fetch scans only on overflow or every {RESCAN_EVERY} downloads")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 24)
