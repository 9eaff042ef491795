"""Whole `tfclica train` processes: two workers on loopback, and a run killed with SIGKILL.

Both compare against one in-process reference run on the same global batches (one device,
``data_shards=2``: the batches of two replicas). The schedule is tiny (n=3, widths 16-16, 8 steps
of 64 pairs): these tests check exactness of the machinery, not learning.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from tfclica import rundir
from tfclica.config.experiment import to_toml
from tfclica.presets import get_preset
from tfclica.training import TrainingRun

CFG = get_preset("default").config.replace(lr_schedule="constant", warmup_steps=0).replace(
    dim=3, encoder_widths=(16, 16), steps=8, batch_size=64, eval_every=4,
    checkpoint_every=3, eval_samples=256, strategy="default",
)  # fmt: skip
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


def _weights(run_dir: Path) -> list[np.ndarray]:
    return keras.saving.load_model(run_dir / rundir.ENCODER_FILE).get_weights()


def _max_diff(a, b) -> float:
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Final encoder weights of the uninterrupted one-device run."""
    run_dir = rundir.prepare_run_dir(tmp_path_factory.mktemp("reference") / "run")
    trainer = TrainingRun(CFG, run_dir, data_shards=2)
    trainer.run_steps()
    return [w.numpy() for w in trainer.encoder.weights]


@pytest.fixture(scope="module")
def config_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "tiny.toml"
    path.write_text(to_toml(CFG))
    return path


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_agree_with_each_other_and_with_one_device(reference, config_file, tmp_path):
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    procs = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        cmd = [sys.executable, "-m", "tfclica.cli.main", "train", "--config", str(config_file)]
        cmd += ["--strategy", "multi-worker", "--out", str(tmp_path / f"worker{index}")]
        env = {**ENV, "TF_CONFIG": json.dumps(tf_config)}
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    try:
        outputs = [p.communicate(timeout=240) for p in procs]
    finally:  # a worker that died leaves the other waiting on its collectives
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for proc, (_, err) in zip(procs, outputs):
        assert proc.returncode == 0, err.decode()[-3000:]
    w0, w1 = _weights(tmp_path / "worker0"), _weights(tmp_path / "worker1")
    # Both apply the same all-reduced gradients to the same weights: identical bits.
    assert _max_diff(w0, w1) == 0.0
    metrics = rundir.read_metrics(tmp_path / "worker0")
    assert metrics["replicas"] == 2 and metrics["data_shards"] == 2
    # vs the one-device XLA step: float32 rounding of a differently ordered computation, fed
    # through 8 Adam steps of lr 1e-3 (each moves a weight by up to 1e-3; Adam divides the
    # gradient by |g| + 1e-7, amplifying 1e-7 relative noise in tiny components): 1e-5 is far
    # below one step, so a wrong negative set or batch shows up as a 1e-4..1e-3 difference.
    assert _max_diff(w0, reference) < 1e-5


KILL_DURING_CHECKPOINT_WRITE = textwrap.dedent(
    """
    import os, signal, sys
    from tensorflow.python.checkpoint import checkpoint_management as cm

    record = cm.update_checkpoint_state_internal

    def die_before_recording(*args, **kwargs):
        # ckpt-6's data and index are on disk, the 'checkpoint' state file not yet updated.
        path = kwargs.get("model_checkpoint_path") or args[1]
        if str(path).endswith("ckpt-6"):
            os.kill(os.getpid(), signal.SIGKILL)
        return record(*args, **kwargs)

    cm.update_checkpoint_state_internal = die_before_recording
    from tfclica.cli.main import main
    main(sys.argv[1:])
    """
)


def test_sigkill_during_a_checkpoint_write_then_resume_gives_the_same_weights(
    reference, config_file, tmp_path
):
    run_dir = tmp_path / "run"
    args = ["train", "--config", str(config_file), "--data-shards", "2", "--out", str(run_dir)]
    killed = subprocess.run(
        [sys.executable, "-c", KILL_DURING_CHECKPOINT_WRITE, *args],
        env=ENV, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert not (run_dir / rundir.ENCODER_FILE).exists()
    assert (run_dir / "checkpoints" / "ckpt-6.index").exists()  # written, never recorded
    resumed = subprocess.run(
        [sys.executable, "-m", "tfclica.cli.main", "train", "--resume", "--out", str(run_dir)],
        env=ENV, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from" in resumed.stderr and "ckpt-3" in resumed.stderr
    # Same compiled step, same inputs (stateless per-step seeds, restored Adam state): the
    # replayed steps 4..8 reproduce the uninterrupted run bit for bit.
    assert _max_diff(_weights(run_dir), reference) == 0.0
    assert rundir.read_metrics(run_dir)["resumed_from_step"] == 3
    # A damaged newest checkpoint: restoring falls back to the previous complete one.
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    for data in (copy / "checkpoints").glob("ckpt-8.data-*"):
        data.write_bytes(b"\0" * 16)
    trainer = TrainingRun(CFG, copy)
    assert trainer.restored_from.endswith("ckpt-6")
    assert int(trainer.step.numpy()) == 6 and trainer.shards == 2
