"""Latency of an exported encoder: ONNX in onnxruntime vs the SavedModel in TensorFlow.

Usage::

    python tools/export_latency.py saved_models/default-seed0 [--batches 1 4096] [--json]

Each measurement is NumPy in, NumPy out (what a user's code sees): warm-up calls first, then
the median and 90th percentile over repeated calls, in milliseconds. Both runtimes use their
default thread pools on all CPU cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np


def _time_calls(fn, x: np.ndarray, warmup: int, min_seconds: float, max_calls: int) -> dict:
    for _ in range(warmup):
        fn(x)
    times = []
    start = time.perf_counter()
    while len(times) < max_calls and (time.perf_counter() - start < min_seconds or len(times) < 5):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    ms = np.asarray(times) * 1e3
    return {
        "median_ms": float(np.median(ms)),
        "p90_ms": float(np.percentile(ms, 90)),
        "calls": len(times),
    }


def measure(export_dir: Path, batches=(1, 4096), min_seconds: float = 2.0) -> dict:
    """Latency figures for each runtime and batch size (see the module docstring)."""
    import onnxruntime as ort
    import tensorflow as tf

    from tfclica.export.layout import (
        INPUT_NAME,
        ONNX_FILE,
        OUTPUT_NAME,
        SAVEDMODEL_DIR,
        SIGNATURE_KEY,
    )

    session = ort.InferenceSession(str(export_dir / ONNX_FILE), providers=["CPUExecutionProvider"])
    signature = tf.saved_model.load(str(export_dir / SAVEDMODEL_DIR)).signatures[SIGNATURE_KEY]
    width = int(session.get_inputs()[0].shape[-1])
    runtimes = {
        "onnxruntime": lambda x: session.run([OUTPUT_NAME], {INPUT_NAME: x})[0],
        "tensorflow_savedmodel": lambda x: signature(**{INPUT_NAME: tf.constant(x)})[
            OUTPUT_NAME
        ].numpy(),
    }
    rng = np.random.default_rng(0)
    results = []
    for batch in batches:
        x = rng.standard_normal((batch, width)).astype(np.float32)
        for name, fn in runtimes.items():
            figures = _time_calls(fn, x, warmup=5, min_seconds=min_seconds, max_calls=2000)
            results.append({"runtime": name, "batch": batch, **figures})
    return {
        "export": str(export_dir),
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores visible",
        "versions": {"onnxruntime": ort.__version__, "tensorflow": tf.__version__},
        "results": results,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export_dir", type=Path, help="an export directory (tfclica export)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4096])
    parser.add_argument("--min-seconds", type=float, default=2.0, help="timed calls per case")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    report = measure(args.export_dir, tuple(args.batches), args.min_seconds)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{report['export']}  ({report['date_utc']} UTC, {report['machine']})")
    print(f"{'runtime':<24}{'batch':>7}{'median ms':>12}{'p90 ms':>10}{'calls':>7}")
    for row in report["results"]:
        print(
            f"{row['runtime']:<24}{row['batch']:>7}{row['median_ms']:>12.3f}"
            f"{row['p90_ms']:>10.3f}{row['calls']:>7}"
        )


if __name__ == "__main__":
    main()
