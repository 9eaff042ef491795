"""tools/lp_loss_of_linear_maps.py evaluates the very loss the box presets train."""

import numpy as np
from tool_modules import load_tool

from tfclica.losses import lp_infonce


def _tool():
    return load_tool("lp_loss_of_linear_maps")


def test_its_loss_is_lp_infonce_of_the_scaled_latents():
    tool = _tool()
    z, z_tilde = tool.truncated_pairs(np.random.default_rng(3), 256, 10, "laplace", 0.05)
    for s in (1.0, 3.0, 20.0):
        ours = lp_infonce((s * z).astype(np.float32), (s * z_tilde).astype(np.float32), 1.0, 1.0)
        np.testing.assert_allclose(tool.loss_of_linear_map(z, z_tilde, s), np.mean(ours), rtol=1e-4)


def test_pairs_stay_in_the_box_and_near_their_anchor():
    tool = _tool()
    z, z_tilde = tool.truncated_pairs(np.random.default_rng(4), 4000, 10, "laplace", 0.05)
    assert z_tilde.min() >= 0.0 and z_tilde.max() <= 1.0
    # Laplace(0.05) has mean |x| 0.05; truncation near the faces only shortens the steps.
    # 40,000 draws: the mean's standard error is about 0.05 / 200 = 2.5e-4.
    assert 0.045 < np.abs(z_tilde - z).mean() < 0.0501


def test_its_l2_loss_with_a_temperature_is_lp_infonce_too():
    tool = _tool()
    rng = np.random.default_rng(5)
    z, z_tilde = tool.truncated_pairs(rng, 128, 10, "normal", 0.1, -1.0, 1.0)
    assert z.min() >= -1.0 and z_tilde.min() >= -1.0 and z_tilde.max() <= 1.0
    h, h_tilde = (0.3 * v.astype(np.float32) for v in (z, z_tilde))
    ours = np.mean(lp_infonce(h, h_tilde, 0.02, 2.0))
    np.testing.assert_allclose(tool.loss_of_linear_map(z, z_tilde, 0.3, 2.0, 0.02), ours, rtol=1e-4)
