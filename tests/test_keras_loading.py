"""After ``import tfclica``, plain ``keras.saving.load_model`` loads every ``.keras`` kind the
package writes, in a fresh process, while ``import tfclica`` alone imports no TensorFlow."""

import os
import subprocess
import sys

import numpy as np
import pytest

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "TF_CPP_MIN_LOG_LEVEL": "3"}

# name: (encoder, head, observation shape)
KINDS = {
    "mlp-sphere-head": ("mlp", "sphere", (10,)),
    "mlp-learnable-sphere-head": ("mlp", "learnable-sphere", (10,)),
    "mlp-box-head": ("mlp", "box", (10,)),
    "mlp-linear-box-head": ("mlp", "linear-box", (10,)),
    "mlp-standardize-head": ("mlp", "standardize", (10,)),
    "mlp-no-head": ("mlp", "none", (10,)),
    "cnn": ("cnn", "sphere", (16, 16, 3)),
    "resnet18": ("resnet18", "sphere", (16, 16, 3)),
    "contrastive-model": ("contrastive", "sphere", (10,)),  # tfclica.ContrastiveModel, compiled
}

LOAD = """
import sys
import numpy as np
import tfclica, keras
for path in sys.argv[1:]:
    model = keras.saving.load_model(path)  # safe_mode on: the default
    x = np.load(path + ".x.npy")
    np.save(path + ".out.npy", np.asarray(model(x, training=False)))
"""


def _saved(kind, tmp_path):
    from tfclica.models.conv_encoders import CONV_ENCODERS
    from tfclica.models.encoders import build_mlp_encoder

    encoder, head, shape = KINDS[kind]
    if encoder == "mlp":
        model = build_mlp_encoder(shape[0], 10, (32, 32), head, seed=1)
    elif encoder == "contrastive":
        import tfclica

        cfg = tfclica.get_preset("default").config.replace(steps=10, warmup_steps=2)
        model = tfclica.build_contrastive_model(cfg)  # with its schedule: WarmupDecay
    else:
        model = CONV_ENCODERS[encoder](shape, 10, head, seed=1)
    x = np.random.default_rng(0).uniform(0, 1, (4, *shape)).astype(np.float32)
    path = tmp_path / f"{kind}.keras"
    model.save(path)
    np.save(f"{path}.x.npy", x)
    return path, np.asarray(model(x, training=False))


@pytest.mark.parametrize("order", ["tfclica, keras", "keras, tfclica"])
def test_plain_load_model_loads_every_encoder_kind(tmp_path, order):
    saved = {kind: _saved(kind, tmp_path) for kind in KINDS}
    script = LOAD.replace("import tfclica, keras", f"import {order}")
    paths = [str(path) for path, _ in saved.values()]
    done = subprocess.run(
        [sys.executable, "-c", script, *paths], env=ENV, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for kind, (path, expected) in saved.items():
        np.testing.assert_allclose(np.load(f"{path}.out.npy"), expected, atol=1e-5, err_msg=kind)


def test_without_import_tfclica_the_heads_are_unknown(tmp_path):
    # The check above can fail: plain Keras alone does not know tfclica's layers.
    path, _ = _saved("mlp-sphere-head", tmp_path)
    script = "import sys, keras; keras.saving.load_model(sys.argv[1])"
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], env=ENV, capture_output=True, text=True
    )
    assert done.returncode != 0 and "SphereHead" in done.stderr


def test_import_tfclica_imports_no_tensorflow_and_arms_the_registration():
    code = (
        "import sys, tfclica\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
        "import keras\n"
        "print(keras.saving.get_registered_object('tfclica>SphereHead').__name__,"
        " keras.saving.get_registered_object('tfclica>CosineInfoNCE').__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["SphereHead", "CosineInfoNCE"]


def test_tensorflow_s_own_keras_import_registers_too():
    # TensorFlow probes for Keras (find_spec) before it imports it: the hook must survive that.
    code = (
        "import sys, tfclica, tensorflow as tf\n"
        "tf.keras.layers.Dense  # Keras, imported by TensorFlow\n"
        "keras = sys.modules['keras']\n"
        "print(keras.saving.get_registered_object('tfclica>BoxHead').__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["BoxHead"]
