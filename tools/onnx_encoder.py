"""Run an exported tfclica encoder with onnxruntime and NumPy only (no TensorFlow, no tfclica).

Usage::

    python tools/onnx_encoder.py EXPORT/encoder.onnx --input x.npy --output z_hat.npy
    python tools/onnx_encoder.py EXPORT/encoder.onnx --check EXPORT/reference_io.npz
    python tools/onnx_encoder.py EXPORT/encoder.onnx --metadata

``--input`` takes a ``.npy`` file (or ``.npz`` with an array ``x``) of float32 ``[batch, d_x]``;
``--check`` encodes the recorded ``x`` of an export's ``reference_io.npz`` and compares with its
recorded ``z_hat`` (exit 1 if the max absolute difference exceeds ``--tolerance``).
Copy this file anywhere: it depends on ``numpy`` and ``onnxruntime`` alone.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import onnxruntime as ort

# The names of tfclica/export/layout.py, restated: this file must run without tfclica.
INPUT_NAME, OUTPUT_NAME, METADATA_KEY = "x", "z_hat", "tfclica.metadata"


class OnnxEncoder:
    """``z_hat = encoder(x)`` for float32 ``x`` of shape ``[batch, d_x]``."""

    def __init__(self, path: str):
        self.session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        (self.input,) = self.session.get_inputs()
        self.input_dim = int(self.input.shape[-1])
        custom = self.session.get_modelmeta().custom_metadata_map
        self.metadata = json.loads(custom[METADATA_KEY]) if METADATA_KEY in custom else None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        expected = f"float32 [batch, {self.input_dim}] with batch >= 1"
        if x.dtype != np.float32 or x.ndim != 2 or x.shape[1] != self.input_dim or not len(x):
            raise ValueError(f"input must be {expected}; got {x.dtype} of shape {x.shape}")
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]


def _load_x(path: str) -> np.ndarray:
    data = np.load(path)
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            return data["x"]
    return data


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="an exported encoder.onnx")
    parser.add_argument("--input", help=".npy (or .npz with 'x') of float32 [batch, d_x]")
    parser.add_argument("--output", help="write z_hat here (.npy); default: print a summary")
    parser.add_argument("--check", help="an export's reference_io.npz to compare against")
    parser.add_argument("--tolerance", type=float, default=1e-5, help="for --check")
    parser.add_argument("--metadata", action="store_true", help="print the embedded metadata")
    args = parser.parse_args(argv)

    encoder = OnnxEncoder(args.model)
    if args.metadata:
        print(json.dumps(encoder.metadata, indent=2))
    if args.input:
        z_hat = encoder(_load_x(args.input))
        if args.output:
            np.save(args.output, z_hat)
        print(f"encoded {z_hat.shape[0]} samples -> z_hat {list(z_hat.shape)}")
    if args.check:
        with np.load(args.check) as ref:
            x, expected = ref["x"], ref["z_hat"]
        z_hat = encoder(x)
        if args.output and not args.input:
            np.save(args.output, z_hat)
        diff = float(np.max(np.abs(z_hat.astype(np.float64) - expected)))
        ok = diff <= args.tolerance  # NaN fails
        verdict = "ok" if ok else "FAILED"
        print(
            f"check {verdict}: max |diff| {diff:.3g} on {len(x)} samples (tol {args.tolerance:g})"
        )
        return 0 if ok else 1
    if not (args.input or args.metadata):
        parser.error("give --input, --check or --metadata")
    return 0


if __name__ == "__main__":
    sys.exit(main())
