"""Parity of a written export: every file against what it must compute, before it is published.

The encoders' outputs are compared with the Keras encoder's (max absolute difference; 1e-5 for
``z_hat``, the same through the alignment map for the aligned outputs); g and
its inverse with the float64 NumPy reference :meth:`Mixing.numpy_forward` / ``numpy_inverse``
(in float32 units in the last place: 0.5 is exact rounding).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfclica.export.layout import (
    G_INVERSE,
    GENERATORS,
    ONNX_FILE,
    SAVEDMODEL_DIR,
    SIGNATURE_KEY,
    G,
)
from tfclica.export.loaders import load_encoder
from tfclica.observations.mixing import Mixing

# Exact float32 rounding is 0.5 ulp; the margin covers a different float64 summation order
# (about 1e-15 relative, 1e-7 ulp), not a float32 computation (which errs by several ulp).
GENERATOR_TOLERANCE_ULP = 0.501


def output_diffs(folder: Path, formats, x: np.ndarray, expected: dict) -> dict:
    """``{format: {output: max |written - expected|}}`` for each named output in ``expected``."""
    result = {}
    for fmt in formats:
        exported = load_encoder(folder / (SAVEDMODEL_DIR if fmt == "savedmodel" else ONNX_FILE))
        got = exported.encode_all(x)  # one pass for every output (conv encoders are slow)
        result[fmt] = {
            name: float(np.max(np.abs(got[name].astype(np.float64) - values)))
            for name, values in expected.items()
        }
    return result


def max_ulp_error(got: np.ndarray, reference: np.ndarray) -> float:
    """Largest ``|got - reference|`` in units of float32 spacing at ``reference``.

    The float32 rounding of a float64 ``reference`` is at most 0.5 units away.
    """
    reference = np.asarray(reference, np.float64)
    spacing = np.spacing(np.abs(reference).astype(np.float32)).astype(np.float64)
    return float(np.max(np.abs(np.asarray(got, np.float64) - reference) / spacing))


def _run_graph(path: Path, input_name: str, output_name: str, values: np.ndarray) -> np.ndarray:
    """One input, one named output of an ``.onnx`` file or a SavedModel directory."""
    if path.suffix == ".onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run([output_name], {input_name: values})[0]
    import tensorflow as tf

    signature = tf.saved_model.load(str(path)).signatures[SIGNATURE_KEY]
    return signature(**{input_name: tf.constant(values)})[output_name].numpy()


def generator_parity(mixing: Mixing, folder: Path, formats, z: np.ndarray, x: np.ndarray):
    """The ``parity.generator`` section: g on ``z`` and g^-1 on ``x`` against NumPy float64.

    Args:
        mixing: the frozen g.
        folder: the written ``mixing/`` directory.
        formats: which of ``"savedmodel"``, ``"onnx"`` were written.
        z, x: float32 latents and observations of the run's data distribution.

    Returns:
        ``{"reference", "samples", "tolerance_ulp", "max_ulp": {file: ulp},
        "max_abs_diff": {file: diff}}`` keyed by each file's name inside ``mixing/``.
    """
    expected = {G: mixing.numpy_forward(z), G_INVERSE: mixing.numpy_inverse(x)}
    inputs = {G: z, G_INVERSE: x}
    ulps, diffs = {}, {}
    for files in GENERATORS:
        names = [files.savedmodel] * ("savedmodel" in formats) + [files.onnx] * ("onnx" in formats)
        for name in names:
            got = _run_graph(folder / name, files.input, files.output, inputs[files])
            ulps[name] = max_ulp_error(got, expected[files])
            diffs[name] = float(np.max(np.abs(got.astype(np.float64) - expected[files])))
    return {
        "reference": "Mixing.numpy_forward / numpy_inverse (float64)",
        "samples": int(len(z)),
        "tolerance_ulp": GENERATOR_TOLERANCE_ULP,
        "max_ulp": ulps,
        "max_abs_diff": diffs,
    }
