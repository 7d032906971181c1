"""Export a musicnn checkpoint (shipped in musicnn's PyPI wheel, ISC licence) to ONNX. Run once, offline.

Not part of the app: it needs TensorFlow and tf2onnx, so run it from a throwaway venv:

    python3.11 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu tf-keras tf2onnx onnx onnxruntime
    /tmp/tfvenv/bin/pip install --no-deps musicnn==0.1.0
    TF_USE_LEGACY_KERAS=1 /tmp/tfvenv/bin/python tools/export_musicnn.py MTT_musicnn musicrec_tui/assets/

The graph is musicnn's own `models.define_model` in inference mode (batch-norm with moving statistics, no
dropout), frozen and converted with tf2onnx. Input "patches": float32 (batch, 187, 96) log-mel patches
(3 s at 16 kHz, hop 256, 96 bands, log10(10000 x + 1)); outputs are the tag logits and the model's
pooled/penultimate features. The app (core/features/musicnn.py) reproduces the preprocessing in numpy.
A re-export gives the same outputs (checked bit for bit) but not the same bytes (tf2onnx's node naming), so
after one, update MODEL_SHA256 in core/features/musicnn.py and the .sha256 file beside the model.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

N_FRAMES = 187  # librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1, as musicnn computes it
N_MELS = 96


def export(model: str, out_dir: Path, opset: int = 17) -> Path:
    """Build `model`'s graph, restore its checkpoint, freeze it and write `<model>.onnx` into out_dir."""
    import musicnn
    import tensorflow as tf
    import tf2onnx
    from musicnn import configuration as config
    from musicnn import models

    tf.compat.v1.disable_eager_execution()
    labels = config.MTT_LABELS if model.startswith("MTT") else config.MSD_LABELS
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, N_FRAMES, N_MELS], name="patches")
        with tf.name_scope("model"):
            outs = models.define_model(x, False, model, len(labels))
        named = {"logits": outs[0]}
        if "vgg" in model:
            # pool4/pool5 are (batch, time, freq, 128) maps: global max + mean over time and frequency
            for name, t in (("pool4", outs[4]), ("pool5", outs[5])):
                named[f"{name}_mean"] = tf.reduce_mean(t, axis=[1, 2])
                named[f"{name}_max"] = tf.reduce_max(t, axis=[1, 2])
        else:
            _, _timbral, _temporal, _c1, _c2, _c3, mean_pool, max_pool, penultimate = outs
            named["penultimate"] = penultimate
            named["mean_pool"] = mean_pool
            named["max_pool"] = max_pool
        outputs = [tf.identity(t, name=name) for name, t in named.items()]
        sess = tf.compat.v1.Session(graph=graph)
        ckpt = str(Path(musicnn.__file__).parent / model) + "/"
        tf.compat.v1.train.Saver().restore(sess, ckpt)
        frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
            sess, graph.as_graph_def(), [o.op.name for o in outputs]
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{model.lower()}.onnx"
    tf2onnx.convert.from_graph_def(
        frozen,
        input_names=["patches:0"],
        output_names=[o.name for o in outputs],
        opset=opset,
        output_path=str(target),
    )
    _check(sess, x, outputs, target)
    print(f"{target} {target.stat().st_size} bytes sha256 {hashlib.sha256(target.read_bytes()).hexdigest()}")
    print("outputs:", ", ".join(f"{o.name.split(':')[0]}{tuple(o.shape)}" for o in outputs))
    return target


def _check(sess, x, outputs, target: Path) -> None:
    """The ONNX model must give the TensorFlow graph's outputs on random log-mel patches."""
    import numpy as np
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    batch = rng.uniform(0.0, 3.0, size=(4, N_FRAMES, N_MELS)).astype(np.float32)
    want = sess.run(outputs, feed_dict={x: batch})
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    got = session.run(None, {"patches:0": batch})
    for o, w, g in zip(outputs, want, got, strict=True):
        err = float(np.max(np.abs(w - g)) / (np.max(np.abs(w)) + 1e-9))
        print(f"check {o.name}: max relative error {err:.2e}")
        if err > 1e-3:
            raise SystemExit(f"ONNX output {o.name} differs from TensorFlow's ({err:.2e})")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: export_musicnn.py MODEL OUT_DIR (MTT_musicnn MTT_vgg MSD_musicnn MSD_vgg)")
    export(sys.argv[1], Path(sys.argv[2]))
