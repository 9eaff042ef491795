"""Train-step throughput against the machine's fp32 matmul limit (``tfclica bench``).

The step is the training run's own compiled :class:`~tfclica.training.TrainStep` (sampling,
observations, encoder forward and backward on both views, loss, Adam update), called with the
config's ``steps_per_call`` steps per call as training calls it, timed after warm-up as a median
over repeats. The GEMM peak is
measured in the same process, so the ratio ``achieved / peak`` holds on a noisy machine.
"""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from pathlib import Path

import tensorflow as tf

from tfclica.config.experiment import ExperimentConfig
from tfclica.experiments.flops import Gemm, model_flops_per_step, step_gemms
from tfclica.latents import seeds

# The plain GEMM that defines the peak: large enough to reach the BLAS plateau on a CPU.
GEMM_SHAPE = (4096, 4096, 4096)


def median_seconds(call, repeats: int) -> float:
    """Median wall time of ``call(i)`` for ``i = 1..repeats``, after one warm-up ``call(0)``.

    ``call`` must wait for its result (e.g. end in ``.numpy()``).
    """
    call(0)
    times = []
    for i in range(1, repeats + 1):
        t0 = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def gemm_peak_gflops(shape=GEMM_SHAPE, repeats: int = 5) -> float:
    """Median GFLOP/s of one fp32 ``[m, k] @ [k, n]`` product (2mkn FLOPs), after warm-up."""
    m, k, n = shape
    a = tf.random.stateless_normal([m, k], seed=[1, 2])
    b = tf.random.stateless_normal([k, n], seed=[3, 4])
    matmul = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)[:1, :1]))
    seconds = median_seconds(lambda _: matmul(a, b).numpy(), repeats)
    return 2.0 * m * k * n / seconds / 1e9


def _operands(gemm: Gemm, seed: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Random operands of one product of ``gemm``, stored as the step stores them."""
    a_shape = (gemm.k, gemm.m) if gemm.transpose_a else (gemm.m, gemm.k)
    b_shape = (gemm.n, gemm.k) if gemm.transpose_b else (gemm.k, gemm.n)
    return (
        tf.cast(tf.random.stateless_normal(a_shape, seed=[seed, 1]), gemm.dtype),
        tf.cast(tf.random.stateless_normal(b_shape, seed=[seed, 2]), gemm.dtype),
    )


def gemm_only_seconds(cfg: ExperimentConfig, repeats: int = 5) -> float:
    """Median time of a TF graph that runs exactly the step's matmuls (:func:`step_gemms`, in
    their dtypes), one after another, and nothing else.

    ``model FLOPs / this`` is what the model's shapes allow on this machine, with TF's graph
    (oneDNN) kernels, if every other part of the step were free; ``this / step time`` is the
    share of a graph step that its matmuls need (under ``--xla step`` the step runs XLA's own
    dot kernels instead). Products of one shape share their operands: less memory, and warm
    caches can only make this time shorter.
    """
    gemms = step_gemms(cfg)
    kinds = list(dict.fromkeys(g[2:] for g in gemms))  # shape, transposes, dtype; in order
    operands = [_operands(Gemm("", 1, *kind), seed) for seed, kind in enumerate(kinds)]
    order = [kinds.index(g[2:]) for g in gemms for _ in range(g.count)]

    @tf.function  # operands are arguments: as captured constants grappler would fold the graph
    def run(operands):
        done = tf.constant(0.0)
        for index in order:
            gemm, (a, b) = Gemm("", 1, *kinds[index]), operands[index]
            with tf.control_dependencies([done]):  # one at a time
                c = tf.matmul(a, b, transpose_a=gemm.transpose_a, transpose_b=gemm.transpose_b)
                done = done + tf.cast(c[0, 0], tf.float32)  # a data edge: grappler prunes
        return done  # nodes whose outputs feed only control edges

    return median_seconds(lambda _: run(operands).numpy(), repeats)


def _time_steps(train_step, steps: int) -> float:
    """Seconds for ``steps`` steps in calls of ``steps_per_call`` (each call returns its losses,
    so the time includes the host round trips training makes)."""
    t0 = time.perf_counter()
    done = 0
    while done < steps:
        done += len(train_step(min(train_step.steps_per_call, steps - done)))
    return time.perf_counter() - t0


def run_bench(
    cfg: ExperimentConfig,
    steps: int = 10,
    repeats: int = 3,
    warmup: int = 2,
    gemm_shape: tuple[int, int, int] = GEMM_SHAPE,
) -> dict:
    """Benchmark the train step of ``cfg``; returns the fields of ``tfclica bench --json``."""
    from tfclica.rundir import prepare_run_dir
    from tfclica.training import TrainingRun

    with tempfile.TemporaryDirectory(prefix="tfclica-bench-") as tmp:
        run = TrainingRun(cfg, prepare_run_dir(Path(tmp) / "run"))
        step_fn = run.train_step
        xla_mode = step_fn.xla_mode  # what ran (auto resolves by encoder, device and batch)
        t0 = time.perf_counter()
        _time_steps(step_fn, warmup)
        compile_seconds = time.perf_counter() - t0
        peak_before = gemm_peak_gflops(gemm_shape)
        step_times = [_time_steps(step_fn, steps) / steps for _ in range(repeats)]
        peak_after = gemm_peak_gflops(gemm_shape)
        step_seconds = statistics.median(step_times)
        sampling_seconds = _sampling_seconds(run, cfg)
        eval_seconds = median_seconds(run.quick_scores, repeats=3)
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gemm_seconds = gemm_only_seconds(cfg)  # after the RSS: its operands are not the step's
    flops = model_flops_per_step(cfg)
    achieved = flops / step_seconds / 1e9
    peak = max(peak_before, peak_after)
    return {
        "preset": cfg.preset,
        "batch_size": cfg.batch_size,
        "xla": xla_mode,
        "precision": cfg.precision,
        "steps": steps,
        "repeats": repeats,
        "steps_per_call": cfg.steps_per_call,
        "steps_per_second": 1.0 / step_seconds,
        "samples_per_second": cfg.batch_size / step_seconds,
        "model_gflops_per_step": flops / 1e9,
        "achieved_gflops": achieved,
        "gemm_peak_gflops": peak,
        "gemm_shape": list(gemm_shape),
        "achieved_over_peak": achieved / peak,
        "gemm_only_ms": 1e3 * gemm_seconds,
        "gemm_only_over_peak": flops / gemm_seconds / 1e9 / peak,
        "gemm_share_of_step": gemm_seconds / step_seconds,
        "step_ms_median": 1e3 * step_seconds,
        "step_ms_all": [1e3 * t for t in step_times],
        "warmup_seconds": compile_seconds,
        "sampling_ms": 1e3 * sampling_seconds,
        "sampling_fraction_of_step": sampling_seconds / step_seconds,
        "eval_ms": 1e3 * eval_seconds,
        "eval_fraction_of_training": eval_seconds / (eval_seconds + cfg.eval_every * step_seconds),
        "peak_rss_mb": peak_rss_mb,
    }


def _sampling_seconds(run, cfg: ExperimentConfig, repeats: int = 20) -> float:
    """Median time of drawing one batch of pairs and their observations, compiled as in the
    step."""

    @tf.function(jit_compile=True)
    def draw(step):
        z, z_tilde = run.sampler.sample_pairs(cfg.batch_size, seeds.fold(cfg.seed, step))
        return tf.reduce_sum(run.data.source(tf.concat([z, z_tilde], 0)))

    return median_seconds(lambda i: draw(tf.constant(i)).numpy(), repeats)


def format_report(r: dict) -> str:
    """Human-readable summary of :func:`run_bench`."""
    sampling_pct = 100 * r["sampling_fraction_of_step"]
    eval_pct = 100 * r["eval_fraction_of_training"]
    return "\n".join(
        [
            f"preset {r['preset']}, batch {r['batch_size']}, XLA: {r['xla']}, {r['precision']}, "
            f"{r['steps_per_call']} steps per call",
            f"train step     {r['step_ms_median']:.1f} ms  ({r['steps_per_second']:.2f} steps/s,"
            f" {r['samples_per_second']:.0f} pairs/s)",
            f"model          {r['model_gflops_per_step']:.2f} GFLOP/step -> "
            f"{r['achieved_gflops']:.1f} GFLOP/s",
            f"GEMM peak      {r['gemm_peak_gflops']:.1f} GFLOP/s (fp32 {r['gemm_shape']})",
            f"achieved/peak  {r['achieved_over_peak']:.3f}",
            f"matmuls alone  {r['gemm_only_ms']:.1f} ms = {r['gemm_only_over_peak']:.3f} of peak"
            f" (the step's own products at their shapes: {100 * r['gemm_share_of_step']:.0f} %"
            " of the step)",
            f"sampling       {r['sampling_ms']:.2f} ms ({sampling_pct:.1f} % of a step)",
            f"evaluation     {r['eval_ms']:.1f} ms ({eval_pct:.2f} % of training at the interval)",
            f"peak RSS       {r['peak_rss_mb']:.0f} MB",
        ]
    )
