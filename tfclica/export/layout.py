"""The export layout: every file and directory of an export, and the tensor names inside them.

An export directory (default ``saved_models/<run name>``) holds::

    metadata.json       what the encoder is and was trained on (tfclica.export.writer)
    savedmodel/         TF SavedModel, signature serving_default: x [batch, d_x] -> z_hat [batch, n]
                        and z_aligned, z_permuted (tfclica.export.alignment); an image
                        encoder's x is [batch, H, W, 3] (tfclica.export.run_data)
                        (savedmodel/assets/metadata.json: the metadata, less the parity section)
    encoder.onnx        the same graph in ONNX (metadata_props["tfclica.metadata"]: same JSON)
    mixing/             the run's frozen g, so evaluation anywhere is exact: weights.npz and
                        spec.json (as in a run directory), and g as graphs: g.onnx (z -> x),
                        g_inverse.onnx (x -> z), g_savedmodel/, g_inverse_savedmodel/
                        (a render run: the renderer's spec only; a --dataset run: no mixing/)
    reference_io.npz    x, z and the Keras encoder's z_hat (z_aligned, z_permuted) on a few
                        samples, for other runtimes

Importing this module does not import TensorFlow: loaders and the CLI read these names freely.
The format itself is documented in ``saved_models/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tfclica.rundir import MIXING_DIR, MIXING_SPEC_FILE, MIXING_WEIGHTS_FILE

FORMAT = "tfclica-export"  # metadata.json's "format"
FORMAT_VERSION = 2  # metadata.json's "format_version" (2: encoder outputs z_aligned, z_permuted)

METADATA_FILE = "metadata.json"
SAVEDMODEL_DIR = "savedmodel"
SAVEDMODEL_ASSETS_DIR = "assets"  # inside a SavedModel: where its copy of metadata.json lives
ONNX_FILE = "encoder.onnx"
REFERENCE_IO_FILE = "reference_io.npz"

# Inside the encoder files.
INPUT_NAME = "x"
OUTPUT_NAME = "z_hat"
ALIGNED_NAME = "z_aligned"  # z_hat @ A + b: the affine map behind the linear R^2
PERMUTED_NAME = "z_permuted"  # z_hat permuted, sign-flipped, scaled, shifted: behind the MCC
SIGNATURE_KEY = "serving_default"
ONNX_METADATA_KEY = "tfclica.metadata"
ONNX_BATCH_AXIS = "batch"
ONNX_MIXING_KEY = (
    "tfclica.observations.mixing"  # metadata_props of g.onnx / g_inverse.onnx: spec.json
)
LATENT_NAME = "z"


@dataclass(frozen=True)
class GeneratorFiles:
    """The two files (inside ``mixing/``) and the tensor names of one direction of g."""

    name: str
    input: str
    output: str
    onnx: str
    savedmodel: str


G = GeneratorFiles("g", LATENT_NAME, INPUT_NAME, "g.onnx", "g_savedmodel")
G_INVERSE = GeneratorFiles(
    "g_inverse", INPUT_NAME, LATENT_NAME, "g_inverse.onnx", "g_inverse_savedmodel"
)
GENERATORS = (G, G_INVERSE)

__all__ = [
    "ALIGNED_NAME",
    "FORMAT",
    "FORMAT_VERSION",
    "G",
    "GENERATORS",
    "G_INVERSE",
    "GeneratorFiles",
    "INPUT_NAME",
    "LATENT_NAME",
    "METADATA_FILE",
    "MIXING_DIR",
    "MIXING_SPEC_FILE",
    "MIXING_WEIGHTS_FILE",
    "ONNX_BATCH_AXIS",
    "ONNX_FILE",
    "ONNX_METADATA_KEY",
    "ONNX_MIXING_KEY",
    "OUTPUT_NAME",
    "PERMUTED_NAME",
    "REFERENCE_IO_FILE",
    "SAVEDMODEL_ASSETS_DIR",
    "SAVEDMODEL_DIR",
    "SIGNATURE_KEY",
]
