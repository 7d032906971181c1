"""Which musicnn model and layer to bundle: precision@5 of every exported model/layer/pooling on both corpora.

Export the candidates first with tools/export_musicnn.py into one directory (MTT_musicnn, MTT_vgg,
MSD_musicnn, MSD_vgg), then:

    python benchmarks/musicnn_variants.py /tmp/onnx
"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import bench_quality as bq  # noqa: E402
from benchmarks import corpus as corpora  # noqa: E402


def main(argv: list[str]) -> int:
    from musicrec_tui.core.audio import decode
    from musicrec_tui.core.features import get
    from musicrec_tui.core.features import musicnn as mn

    model_dir = Path(argv[0])
    cache = corpora.cache_dir()
    for name in corpora.CORPORA:
        items = corpora.load(name, cache)
        root = corpora.corpus_root(name, cache)
        labels = np.asarray([it.label for it in items])
        audio = [decode(root / it.path, mn.RATE).samples for it in items]
        print(f"\n## {name}: {len(items)} tracks, random {bq.random_precision(labels):.3f}")
        proto = get("stats256")
        pv = np.stack([proto(decode(root / it.path, 22050).samples, 22050) for it in items])
        for opt in ("raw cosine", "z cosine", "z cosine +MP"):
            print(f"stats256 {opt:14s} p@5 {_p5(pv, labels, opt):.3f}")
        for model in sorted(model_dir.glob("*.onnx")):
            sha = hashlib.sha256(model.read_bytes()).hexdigest()
            session = mn.load_session(str(model), sha)
            outs = [o.name.removesuffix(":0") for o in session.get_outputs()]
            t0 = time.perf_counter()
            acts = [mn.layer_outputs(a, model, sha, outs) for a in audio]
            ms = (time.perf_counter() - t0) / len(audio) * 1000
            print(f"{model.stem}: {ms:.0f} ms/track (patches + network, decode excluded)")
            for j, out in enumerate(outs):
                per = [a[j] for a in acts]
                for pool in ("mean", "mean+std"):
                    if pool == "mean":
                        v = np.stack([p.mean(axis=0) for p in per])
                    else:
                        v = np.stack([np.concatenate([p.mean(axis=0), p.std(axis=0)]) for p in per])
                    figs = " ".join(
                        f"{opt} {_p5(v, labels, opt):.3f}" for opt in ("z cosine", "z cosine +MP")
                    )
                    print(f"  {out:12s} {pool:9s} dim {v.shape[1]:4d}  p@5: {figs}")
    return 0


def _p5(v: np.ndarray, labels: np.ndarray, opt: str) -> float:
    x = v.astype(np.float64)
    d = bq.cosine_distance(x if opt == "raw cosine" else bq.standardise(x))
    if opt.endswith("+MP"):
        d = bq.mutual_proximity(d)
    return bq.precision_at(d, labels, 5)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
