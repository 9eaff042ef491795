import math

import pytest

from tfclica import rundir
from tfclica.presets import get_preset
from tfclica.training import TrainingRun

TINY = dict(
    dim=4,
    encoder_widths=(32, 32),
    steps=20,
    batch_size=64,
    eval_every=20,
    eval_samples=256,
    checkpoint_every=20,
)


@pytest.mark.parametrize(
    ("precision", "compute"), [("mixed_bfloat16", "bfloat16"), ("mixed_float16", "float16")]
)
def test_mixed_precision_computes_hidden_layers_low_and_the_loss_in_float32(
    tmp_path, precision, compute
):
    cfg = (
        get_preset("default")
        .config.replace(lr_schedule="constant", warmup_steps=0)
        .replace(precision=precision, **TINY)
    )
    trainer = TrainingRun(cfg, rundir.prepare_run_dir(tmp_path / "run"))
    dense = trainer.encoder.get_layer("dense_0")
    assert dense.compute_dtype == compute and dense.variable_dtype == "float32"
    assert trainer.encoder.output.dtype == "float32"
    metrics = trainer.fit()
    assert math.isfinite(metrics["r2_linear"])
    # float16 needs loss scaling to keep small gradients; bfloat16 has float32's range.
    is_scaled = type(trainer.optimizer).__name__ == "LossScaleOptimizer"
    assert is_scaled == (precision == "mixed_float16")
