"""tools/pair_width.py measures the pairs the folder loader would train on."""

import numpy as np
from tool_modules import load_tool


def test_two_stored_latents_are_always_paired_with_each_other():
    # Never the same image twice: with two images every pair is the two of them, in either
    # order, so the width is the per-coordinate RMS of their difference whatever the queries.
    tool = load_tool("pair_width")
    stored = np.array([[0.0] * 10, [0.5] * 5 + [-0.5] * 5], np.float32)
    rng = np.random.default_rng(0)
    z, z_tilde = rng.uniform(-1, 1, (2, 50, 10)).astype(np.float32)
    a, b = tool.nearest_pairs(stored, z, z_tilde)
    assert {tuple(r) for r in np.concatenate([a, b])} == {tuple(r) for r in stored}
    assert tool.rms_spread(a, b) == 0.5


def test_exact_pairs_are_as_wide_as_the_truncated_conditional():
    # Truncation to [-1, 1] only shortens the steps: the RMS is just below sigma (0.0974-0.0976
    # for 0.1 in scipy truncnorm draws); 4000 x 10 draws put its standard error near 0.0005.
    tool = load_tool("pair_width")
    z, z_tilde = tool.exact_pairs(0.1, 4000, seed=0)
    assert np.abs(z).max() <= 1.0 and np.abs(z_tilde).max() <= 1.0
    assert 0.095 < tool.rms_spread(z, z_tilde) < 0.0995
