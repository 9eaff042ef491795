import json

import pytest
import tensorflow as tf

from tfclica.experiments.bench import model_flops_per_step, run_bench
from tfclica.experiments.flops import step_gemms
from tfclica.presets import get_preset


def test_flop_model_counts_the_paper_setting_by_hand():
    cfg = get_preset("sphere-vmf-paper").config
    b, rows = 6144, 2 * 6144
    macs_per_row = 10 * 100 + 100 * 500 + 3 * 500 * 500 + 500 * 100 + 100 * 10  # 852,000
    encoder = 2 * rows * macs_per_row * 3 - 2 * rows * 10 * 100  # fwd + dW + dX (not layer 1)
    mixing = 3 * 2 * rows * 10 * 10
    similarity = 3 * 2 * b * b * 10
    assert model_flops_per_step(cfg) == encoder + mixing + similarity
    assert model_flops_per_step(cfg) / 1e9 == pytest.approx(65.06, abs=0.01)


@pytest.mark.parametrize("batch", [300, 1000, 1024])
def test_step_gemms_cover_the_similarity_matrix_once(batch):
    # Blocks of 512 anchors (1000 = 512 + 488): 6 B^2 n FLOPs in all, every anchor once.
    cfg = get_preset("sphere-vmf-paper").config.replace(batch_size=batch)
    similarity = [g for g in step_gemms(cfg) if "block" in g.label]
    assert sum(g.flops for g in similarity) == 6 * batch * batch * 10
    forward = [g for g in similarity if g.label.startswith("similarity")]
    assert sum(g.count * g.m for g in forward) == batch and len(similarity) == 2 * len(forward)


def test_step_gemms_run_the_encoder_in_its_compute_dtype():
    cfg = get_preset("sphere-vmf-paper").config.replace(precision="mixed_bfloat16")
    dtypes = {g.label.split()[0]: g.dtype for g in step_gemms(cfg)}
    assert dtypes == {
        "mixing": "float32",
        "layer": "bfloat16",
        "similarity": "float32",
        "d": "float32",
    }
    # 7 layers: forward and dW each, dx for all but the first.
    assert sum(g.label.startswith("layer") for g in step_gemms(cfg)) == 7 * 3 - 1


def test_bench_reports_consistent_fields():
    cfg = (
        get_preset("default")
        .config.replace(lr_schedule="constant", warmup_steps=0)
        .replace(dim=4, encoder_widths=(16, 16), batch_size=64, eval_samples=256)
    )
    r = run_bench(cfg, steps=3, repeats=2, warmup=1, gemm_shape=(256, 256, 256))
    json.dumps(r)  # one JSON object
    assert r["batch_size"] == 64
    assert r["samples_per_second"] == pytest.approx(64 * r["steps_per_second"])
    assert r["achieved_gflops"] == pytest.approx(r["model_gflops_per_step"] * r["steps_per_second"])
    assert r["achieved_over_peak"] == pytest.approx(r["achieved_gflops"] / r["gemm_peak_gflops"])
    assert r["gemm_peak_gflops"] > 0 and len(r["step_ms_all"]) == 2
    assert r["gemm_share_of_step"] == pytest.approx(r["gemm_only_ms"] / r["step_ms_median"])
    assert r["gemm_only_ms"] > 0
    gemm_gflops = r["model_gflops_per_step"] / (r["gemm_only_ms"] / 1e3)
    assert r["gemm_only_over_peak"] == pytest.approx(gemm_gflops / r["gemm_peak_gflops"])


@pytest.mark.parametrize("batch", [300, 1000])
def test_step_gemms_count_the_lp_kernels_products(batch):
    # p = 2 runs the symmetric kernel: logits from [2a, -|a|^2, -1] . [a, 1, |a|^2] (width
    # n + 2) and one gradient product of 2n + 1 columns per block, 2 B^2 (3n + 3) FLOPs in all;
    # p = 1 (and p = 3) only element-wise work.
    l2 = get_preset("box-normal").config.replace(batch_size=batch)
    loss = [g for g in step_gemms(l2) if "block" in g.label]
    assert sum(g.flops for g in loss) == 6 * batch * batch * (l2.dim + 1)
    forward = [g for g in loss if g.label.startswith("distance")]
    assert sum(g.count * g.m for g in forward) == batch and len(loss) == 2 * len(forward)
    for preset in ("box-laplace", "box-gennorm3"):
        cfg = get_preset(preset).config.replace(batch_size=batch)
        assert not [g for g in step_gemms(cfg) if "block" in g.label]


@pytest.mark.skipif(
    bool(tf.config.list_logical_devices("GPU")), reason="with a GPU, auto compiles the step"
)
def test_bench_reports_the_xla_mode_that_ran():
    # auto at batch 16 would compile the whole step for an MLP; a CNN on a CPU runs oneDNN's
    # kernels with only the sampling and the renderer compiled, and the report must say so.
    cfg = get_preset("3dident").config.replace(
        image_size=16, batch_size=16, steps_per_call=1, eval_samples=64, warmup_steps=0
    )
    r = run_bench(cfg, steps=1, repeats=1, warmup=1, gemm_shape=(64, 64, 64))
    assert (r["xla"], r["batch_size"]) == ("sampling", 16)
