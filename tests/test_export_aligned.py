"""The aligned outputs z_aligned and z_permuted: the maps of the run's final evaluation, in
every format, scoring what the run scored."""

import json

import numpy as np
import pytest
from sklearn.metrics import r2_score

from tfclica import rundir
from tfclica.cli.main import main
from tfclica.evaluation.metrics import correlation_matrix, linear_alignment, permutation_alignment
from tfclica.evaluation.scoring import sample_observations
from tfclica.export import export_run, load_encoder, read_metadata
from tfclica.latents import build_pair_sampler, seeds

FORMATS = ("savedmodel", "encoder.onnx")


@pytest.fixture(scope="module", params=["sphere", "box"])
def exported(request, tmp_path_factory, make_run_dir):
    # sphere: the default setting; box: the head whose identifiability is the MCC's.
    head = request.param
    cfg, run_dir, mixing = make_run_dir(
        tmp_path_factory.mktemp("run") / f"aligned-{head}", head=head, seed=11
    )
    out = tmp_path_factory.mktemp("exports") / f"aligned-{head}"
    metadata = export_run(run_dir, out)
    return cfg, run_dir, mixing, out, metadata


def _final_eval_sets(cfg, mixing):
    """The run's final-evaluation fit and held-out sets (as scoring draws them)."""
    sampler, seed = build_pair_sampler(cfg), (cfg.seed, 2)  # Stream.FINAL_EVAL
    fit = sample_observations(sampler, mixing, cfg.eval_samples, seed)
    heldout = sample_observations(sampler, mixing, cfg.eval_samples, seeds.fold(seed, 1))
    return fit, heldout


def test_metadata_records_the_final_evaluations_maps(exported):
    cfg, run_dir, mixing, out, metadata = exported
    assert metadata["format_version"] == 2
    assert [o["name"] for o in metadata["outputs"]] == ["z_hat", "z_aligned", "z_permuted"]
    alignment = read_metadata(out)["alignment"]
    assert alignment["fit"] == {
        "stream": "FINAL_EVAL",
        "seed": [cfg.seed, 2],
        "samples": cfg.eval_samples,
        "note": "the fit set of the run's final evaluation (metrics.json)",
    }
    (z_fit, x_fit), _ = _final_eval_sets(cfg, mixing)
    h_fit = load_encoder(run_dir)(x_fit)
    a, b = linear_alignment(z_fit, h_fit)
    perm = permutation_alignment(z_fit, h_fit)
    # Refitted on the same samples: equal up to the float32 rounding of the encodings.
    np.testing.assert_allclose(alignment["z_aligned"]["A"], a, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(alignment["z_aligned"]["b"], b, rtol=1e-4, atol=1e-5)
    assert alignment["z_permuted"]["perm"] == perm["perm"].tolist()
    np.testing.assert_allclose(
        alignment["z_permuted"]["slope"], perm["sign"] * perm["scale"], rtol=1e-4
    )
    parity = metadata["parity"]["outputs"]
    for name in ("z_aligned", "z_permuted"):
        assert all(d <= parity[name]["tolerance"] for d in parity[name]["max_abs_diff"].values())


@pytest.mark.parametrize("fmt", FORMATS)
def test_z_aligned_scores_the_runs_heldout_r2(exported, fmt):
    cfg, _, mixing, out, _ = exported
    recorded = json.loads((out / "metadata.json").read_text())["metrics"]["r2_linear_heldout"]
    encoder = load_encoder(out / fmt)
    # On the run's own held-out set, z_aligned's plain R^2 (no refit) is the held-out R^2:
    # the same map on the same samples, up to the formats' 1e-7 differences in z_hat.
    _, (z_test, x_test) = _final_eval_sets(cfg, mixing)
    assert r2_score(z_test, encoder(x_test, "z_aligned")) == pytest.approx(recorded, abs=1e-5)
    # On fresh true latents it scores the same within noise: the spread of R^2 over 16 fresh
    # sets of the run's eval size (512) is measured, and the run's figure lies within 4 of its
    # standard deviations of their mean.
    sampler = build_pair_sampler(cfg)
    fresh = []
    for k in range(16):
        z, x = sample_observations(sampler, mixing, cfg.eval_samples, (1000 + k, 0))
        fresh.append(r2_score(z, encoder(x, "z_aligned")))
    assert abs(np.mean(fresh) - recorded) <= 4 * np.std(fresh, ddof=1), (recorded, fresh)


@pytest.mark.parametrize("fmt", FORMATS)
def test_z_permuted_is_the_mcc_matching(exported, fmt):
    cfg, _, mixing, out, _ = exported
    metrics = json.loads((out / "metadata.json").read_text())["metrics"]
    encoder = load_encoder(out / fmt)
    (z_fit, x_fit), _ = _final_eval_sets(cfg, mixing)
    z_hat, z_permuted = encoder(x_fit), encoder(x_fit, "z_permuted")
    # Latent i is matched with its own column: the diagonal correlations average to the MCC.
    corr = correlation_matrix(z_fit, z_permuted)
    assert np.mean(np.diag(corr)) == pytest.approx(metrics["mcc_pearson"], abs=1e-5)
    assert np.all(np.diag(corr) >= -1e-6)  # signs flipped to agree
    # And it is z_hat's columns, permuted and rescaled: the recorded map, applied.
    spec = read_metadata(out)["alignment"]["z_permuted"]
    scaled = z_hat[:, spec["perm"]].astype(np.float64) * np.asarray(spec["slope"])
    expected = scaled + np.asarray(spec["offset"])
    # One float32 multiply-add: a few float32 epsilons of its terms (the box head's small spread
    # makes slope and offset large, so this is well above 1e-6 there).
    bound = 4 * np.finfo(np.float32).eps * (np.abs(scaled) + np.abs(spec["offset"]))
    assert np.all(np.abs(z_permuted - expected) <= bound + 1e-7)


def test_reference_io_records_the_aligned_outputs(exported):
    *_, out, _ = exported
    with np.load(out / "reference_io.npz") as ref:
        assert {"x", "z", "z_hat", "z_aligned", "z_permuted"} <= set(ref)
        for fmt in FORMATS:
            encoder = load_encoder(out / fmt)
            for name in ("z_aligned", "z_permuted"):
                got = encoder(ref["x"], name)
                np.testing.assert_allclose(got, ref[name], rtol=0, atol=1e-5)


def test_encode_aligned_round_trips(exported, tmp_path, capsys):
    cfg, _, mixing, out, _ = exported
    _, x = sample_observations(build_pair_sampler(cfg), mixing, 1000, (21, 0))
    np.save(tmp_path / "x.npy", x)
    np.savetxt(tmp_path / "x.csv", x, delimiter=",")
    expected = load_encoder(out / "encoder.onnx")(x, "z_aligned")
    for suffix in (".npy", ".csv"):
        target = tmp_path / f"z{suffix}"
        args = ["encode", "--model", str(out), "--input", str(tmp_path / f"x{suffix}")]
        with pytest.raises(SystemExit) as stop:
            main([*args, "--output", str(target), "--aligned"])
        assert stop.value.code == 0, capsys.readouterr().err
        got = np.load(target) if suffix == ".npy" else np.loadtxt(target, delimiter=",")
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    with pytest.raises(SystemExit) as stop:
        main([*args, "--output", str(tmp_path / "both.npy"), "--aligned", "--permuted"])
    assert stop.value.code == 2 and "not both" in capsys.readouterr().err


def test_keras_format_has_no_aligned_output(exported):
    _, run_dir, *_ = exported
    encoder = load_encoder(run_dir)
    assert encoder.outputs == ("z_hat",)
    with pytest.raises(Exception, match="no output 'z_aligned'"):
        encoder(np.zeros((1, 4), np.float32), "z_aligned")
    assert rundir.load_mixing(run_dir).dim == 4
