"""Quantise the bundled musicnn model's convolutions to int8 (static, calibrated on real music). Run offline.

Not part of the app: it needs the `onnx` package (tool-only, not a runtime dependency):

    .venv/bin/pip install onnx
    .venv/bin/python tools/quantize_musicnn.py CALIBRATION_DIR OUT.onnx [--per-channel] [--reduce-range]

CALIBRATION_DIR holds real music (any format PyAV decodes); every file is decoded and analysed as ingest does
(core.audio + core.features.musicnn preprocessing), and its 3 s log-mel patches calibrate the activation
ranges (MinMax). Only the graph up to the requested layer is kept (the tag head is pruned). Prints the size,
the sha256 and the relative error of the layer against the float model on the calibration patches.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from musicrec_tui.core import audio
from musicrec_tui.core.features import musicnn

AUDIO = (".m4a", ".mp3", ".ogg", ".flac", ".wav", ".aac")


def calibration_patches(folder: Path, limit: int) -> np.ndarray:
    """(n, 187, 96) log-mel patches of up to `limit` files, as the extractor computes them."""
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO)[:limit]
    if not files:
        raise SystemExit(f"no audio files under {folder}")
    out = []
    for f in files:
        decoded = audio.load_for_analysis(str(f), musicnn.ANALYSIS_RATE)
        out.append(musicnn.patches(musicnn.to_model_rate(decoded.samples, decoded.rate)))
    print(f"calibration: {len(files)} files, {sum(len(p) for p in out)} patches")
    return np.concatenate(out).astype(np.float32)


def prune(src: Path, dst: Path, output: str) -> None:
    """Keep only the nodes `output` depends on (drops the tag head and the other poolings)."""
    import onnx
    from onnx import utils

    model = utils.Extractor(onnx.load(str(src))).extract_model(["patches:0"], [output])
    onnx.save(model, str(dst))


def quantise(src: Path, dst: Path, batch: np.ndarray, per_channel: bool, reduce_range: bool) -> None:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(batch[i : i + 1] for i in range(batch.shape[0]))

        def get_next(self) -> dict[str, np.ndarray] | None:
            item = next(self.items, None)
            return None if item is None else {"patches:0": item}

    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        quantize_static(
            str(pre), str(dst), Reader(), quant_format=QuantFormat.QOperator, op_types_to_quantize=["Conv"],
            per_channel=per_channel, reduce_range=reduce_range,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("calibration", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--layer", default=musicnn.LAYER)
    parser.add_argument("--limit", type=int, default=40, help="calibration files (default 40)")
    parser.add_argument("--per-channel", action="store_true")
    parser.add_argument("--reduce-range", action="store_true", help="7-bit weights (CPUs without VNNI)")
    parser.add_argument("--float", action="store_true", help="prune only, keep float32 weights")
    args = parser.parse_args()
    import onnxruntime as ort

    output = f"{args.layer}:0"
    batch = calibration_patches(args.calibration, args.limit)
    with tempfile.TemporaryDirectory() as tmp:
        pruned = Path(tmp) / "pruned.onnx"
        prune(musicnn.ASSETS / musicnn.MODEL_FILE, pruned, output)
        if args.float:
            args.out.write_bytes(pruned.read_bytes())
        else:
            quantise(pruned, args.out, batch, args.per_channel, args.reduce_range)
    ref = ort.InferenceSession(str(musicnn.ASSETS / musicnn.MODEL_FILE), providers=["CPUExecutionProvider"])
    new = ort.InferenceSession(str(args.out), providers=["CPUExecutionProvider"])
    want = ref.run([output], {"patches:0": batch})[0]
    got = new.run([output], {"patches:0": batch})[0]
    err = float(np.linalg.norm(want - got) / np.linalg.norm(want))
    cos = float(np.mean(np.sum(want * got, axis=1) / (np.linalg.norm(want, axis=1) * np.linalg.norm(got, axis=1))))
    data = args.out.read_bytes()
    print(f"{args.out} {len(data)} bytes sha256 {hashlib.sha256(data).hexdigest()}")
    print(f"{output}: relative error {err:.4f}, mean cosine per patch {cos:.5f}")


if __name__ == "__main__":
    main()
