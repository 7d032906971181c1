"""Build corpora of real music for the quality benchmark, cached outside git.

Each corpus is a set of Debian soundtrack packages; a track's label is its package. For every music file of
at least MIN_SOURCE_SECONDS, the 30 s in the middle are cut and encoded as AAC in an .m4a, like an iTunes
preview. Everything lives in $MUSICREC_BENCH_CACHE (default ~/.cache/musicrec-bench):

    debs/            the downloaded .deb files (`apt-get download`)
    extracted/PKG/   `dpkg -x` of each package
    corpus/NAME/PKG/*.m4a and corpus/NAME/manifest.json

    python benchmarks/corpus.py [main|heldout|all] [--cache DIR]

Needs `apt-get update` once on a fresh machine (apt-get download uses the package lists).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The corpus. fb-music-high holds a single .xm module, which FFmpeg (PyAV) cannot decode: skipped.
MAIN = (
    "wesnoth-1.16-music",
    "warzone2100-music",
    "hyperrogue-music",
    "planetblupi-music-ogg",
    "fb-music-high",
)
# Held-out real music, chosen for distinct styles: industrial/electronic (nexuiz), orchestral/cinematic
# (ufoai), ambient electronica (singularity), synth sci-fi (colobot), adventure-game ensemble (drascula),
# themed world styles (pushover).
HELDOUT = (
    "nexuiz-music",
    "ufoai-music",
    "singularity-music",
    "colobot-common-sounds",
    "drascula-music",
    "pushover-data",
)
CORPORA = {"main": MAIN, "heldout": HELDOUT}
MAX_PER_LABEL = {"main": None, "heldout": 25}

AUDIO_SUFFIXES = (".ogg", ".opus", ".mp3", ".flac", ".wav", ".m4a", ".xm")
ARCHIVE_SUFFIXES = (".pk3",)  # zip archives of game data (nexuiz, ufoai)
MIN_SOURCE_SECONDS = 40.0  # shorter files are jingles and sound effects
EXCERPT_SECONDS = 30.0
RATE = 44100


@dataclass(frozen=True, slots=True)
class Item:
    """One excerpt: its .m4a path (relative to the corpus dir), label (package) and source file."""

    path: str
    label: str
    source: str
    source_seconds: float


def cache_dir(override: str | None = None) -> Path:
    """The benchmark cache: --cache, else $MUSICREC_BENCH_CACHE, else ~/.cache/musicrec-bench."""
    raw = override or os.environ.get("MUSICREC_BENCH_CACHE") or "~/.cache/musicrec-bench"
    return Path(raw).expanduser()


def fetch_package(pkg: str, cache: Path) -> Path:
    """Download (once) and extract (once) a Debian package; returns the extraction directory."""
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{pkg}_*.deb"))
    if not found:
        subprocess.run(["apt-get", "download", pkg], cwd=debs, check=True, capture_output=True)
        found = sorted(debs.glob(f"{pkg}_*.deb"))
    target = cache / "extracted" / pkg
    if not (target / ".done").exists():
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg", "-x", str(found[-1]), str(target)], check=True)
        for archive in [p for p in target.rglob("*") if p.suffix.lower() in ARCHIVE_SUFFIXES]:
            _unzip_audio(archive, archive.with_suffix(archive.suffix + ".d"))
        (target / ".done").touch()
    return target


def _unzip_audio(archive: Path, dest: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            if info.filename.lower().endswith(AUDIO_SUFFIXES) and not info.is_dir():
                out = dest / info.filename
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(zf.read(info))


def music_files(root: Path) -> list[Path]:
    """Audio files of a package, minus byte-identical copies and `X_enhanced` remakes of an existing `X`."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    stems = {p.stem for p in files}
    seen: set[str] = set()
    kept = []
    for p in files:
        if p.stem.endswith("_enhanced") and p.stem.removesuffix("_enhanced") in stems:
            continue
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        kept.append(p)
    return kept


def _excerpt(job: tuple[str, str]) -> tuple[str, float, str | None]:
    """Decode `source`, cut the middle 30 s, write .m4a to `dest`. Returns (dest, seconds, why skipped)."""
    from musicrec_tui.core.audio import decode
    from musicrec_tui.core.errors import DecodeError
    from musicrec_tui.core.synth import encode

    source, dest = job
    try:
        audio = decode(source, RATE)
    except DecodeError as exc:
        return dest, 0.0, exc.one_line()
    if audio.seconds < MIN_SOURCE_SECONDS:
        return dest, audio.seconds, "short"
    n = int(EXCERPT_SECONDS * RATE)
    start = (audio.samples.shape[0] - n) // 2
    clip = audio.samples[start : start + n]
    if float((clip.astype("float64") ** 2).mean() ** 0.5) < 1e-3:
        return dest, audio.seconds, "silent"
    Path(dest).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(dest + ".tmp")
    tmp.write_bytes(encode(clip, RATE, "m4a"))
    tmp.rename(dest)
    return dest, audio.seconds, None


def _spread(items: list, k: int | None) -> list:
    """k items evenly spread over a sorted list (all when k is None or larger)."""
    if k is None or len(items) <= k:
        return items
    step = len(items) / k
    return [items[int(i * step)] for i in range(k)]


def build(name: str, cache: Path, workers: int = 2, verbose: bool = True) -> list[Item]:
    """Build (or reuse) corpus `name`; returns its items. Re-running only does what is missing."""
    out = cache / "corpus" / name
    manifest = out / "manifest.json"
    if manifest.exists():
        return load(name, cache)
    jobs: list[tuple[str, str]] = []
    labels: dict[str, str] = {}
    for pkg in CORPORA[name]:
        root = fetch_package(pkg, cache)
        for src in music_files(root):
            rel = src.relative_to(root)
            dest = out / pkg / ("__".join(rel.with_suffix("").parts[-2:]) + ".m4a")
            jobs.append((str(src), str(dest)))
            labels[str(dest)] = pkg
    items: list[Item] = []
    skipped: dict[str, list[str]] = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for (src, _), (dest, seconds, why) in zip(jobs, pool.map(_excerpt, jobs), strict=True):
            if why:
                skipped.setdefault(why if why in ("short", "silent") else "undecodable", []).append(src)
                continue
            items.append(Item(str(Path(dest).relative_to(out)), labels[dest], src, round(seconds, 1)))
    kept: list[Item] = []
    for pkg in CORPORA[name]:
        mine = [it for it in items if it.label == pkg]
        chosen = _spread(mine, MAX_PER_LABEL[name])
        kept += chosen
        for it in mine:
            if it not in chosen:
                (out / it.path).unlink()
    manifest.write_text(json.dumps({"items": [asdict(i) for i in kept], "skipped": skipped}, indent=1))
    if verbose:
        for why, srcs in skipped.items():
            print(f"{name}: skipped {len(srcs)} {why} file(s)", file=sys.stderr)
    return kept


def load(name: str, cache: Path) -> list[Item]:
    """The items of an already built corpus."""
    data = json.loads((cache / "corpus" / name / "manifest.json").read_text())
    return [Item(**d) for d in data["items"]]


def corpus_root(name: str, cache: Path) -> Path:
    return cache / "corpus" / name


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", default="all", choices=[*CORPORA, "all"])
    ap.add_argument("--cache", help="cache dir (default $MUSICREC_BENCH_CACHE or ~/.cache/musicrec-bench)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    cache = cache_dir(args.cache)
    for name in CORPORA if args.corpus == "all" else [args.corpus]:
        items = build(name, cache, args.workers)
        counts: dict[str, int] = {}
        for it in items:
            counts[it.label] = counts.get(it.label, 0) + 1
        print(f"{name}: {len(items)} excerpts in {corpus_root(name, cache)}")
        for label, n in counts.items():
            print(f"  {label:28s} {n:3d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
