"""The schedule keys (lr schedule, Adam, clipping), stop_at, and the vocabularies' single home."""

import subprocess
import sys

import pytest

from tfclica.config.experiment import (
    SCHEDULE_KEYS,
    STOP_AT_METRICS,
    VOCABULARIES,
    ExperimentConfig,
    parse_toml,
    to_toml,
)
from tfclica.errors import ConfigError
from tfclica.presets import get_preset


def test_defaults_leave_earlier_results_unchanged():
    cfg = ExperimentConfig()
    assert (cfg.lr_schedule, cfg.warmup_steps, cfg.clip_norm, cfg.stop_at) == ("constant", 0, 0, "")
    # Keras 3's Adam defaults (tests/test_optim.py checks the built optimizer against Keras).
    assert (cfg.adam_beta1, cfg.adam_beta2, cfg.adam_epsilon) == (0.9, 0.999, 1e-7)
    assert cfg.stop_at_threshold is None


def test_schedule_keys_round_trip_through_toml():
    cfg = ExperimentConfig().replace(
        lr_schedule="warmup-cosine",
        warmup_steps=200,
        lr_final_fraction=0.05,
        adam_beta1=0.8,
        adam_beta2=0.99,
        adam_epsilon=1e-8,
        clip_norm=1,  # an int on the command line or in TOML: stored as a float
        stop_at="mcc=0.98",
    )
    assert isinstance(cfg.clip_norm, float)
    again = ExperimentConfig().replace(**parse_toml(to_toml(cfg)))
    assert again == cfg.replace(encoder_widths=cfg.hidden_widths)
    assert set(SCHEDULE_KEYS) <= set(cfg.to_dict())


@pytest.mark.parametrize(
    ("text", "want"),
    [("r2=0.99", ("r2", 0.99)), (" mcc = 0.98 ", ("mcc", 0.98)), ("r2=1", ("r2", 1.0)), ("", None)],
)
def test_stop_at_is_parsed(text, want):
    assert ExperimentConfig(stop_at=text).stop_at_threshold == want


def test_stop_at_metrics_name_metrics_json_keys():
    from tfclica.rundir import METRIC_KEYS

    assert set(STOP_AT_METRICS) == {"r2", "mcc"}
    assert set(STOP_AT_METRICS.values()) <= METRIC_KEYS


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"lr_schedule": "step"}, "lr_schedule='step' is not one of"),
        ({"warmup_steps": -1}, "warmup_steps"),
        ({"warmup_steps": 10}, "warmup_steps=10 needs a warmup lr_schedule"),
        ({"lr_schedule": "warmup-cosine", "warmup_steps": 5000, "steps": 3000}, "exceeds steps"),
        ({"lr_final_fraction": 1.5}, "lr_final_fraction"),
        ({"lr_final_fraction": -0.1}, "lr_final_fraction"),
        ({"adam_beta1": 1.0}, "adam_beta1"),
        ({"adam_beta2": -0.1}, "adam_beta2"),
        ({"adam_epsilon": 0.0}, "adam_epsilon"),
        ({"clip_norm": -1.0}, "clip_norm"),
        ({"clip_norm": float("nan")}, "clip_norm"),
        ({"stop_at": "r2"}, "stop_at='r2'"),
        ({"stop_at": "r2="}, "stop_at"),
        ({"stop_at": "r2=1.5"}, "stop_at"),
        ({"stop_at": "r2=0"}, "stop_at"),
        ({"stop_at": "loss=0.5"}, "METRIC one of r2, mcc"),
        ({"stop_at": "mcc=high"}, "stop_at"),
        ({"stop_at": "mcc=nan"}, "stop_at"),
        ({"warmup_steps": 1.5}, "warmup_steps"),
    ],
)
def test_bad_schedule_settings_name_the_key(overrides, needle):
    with pytest.raises(ConfigError, match=needle):
        ExperimentConfig().replace(**overrides)


@pytest.mark.parametrize("key", sorted(VOCABULARIES))
def test_every_vocabulary_is_enforced(key):
    assert all(isinstance(v, str) for v in VOCABULARIES[key]) and VOCABULARIES[key]
    with pytest.raises(ConfigError, match=f"{key}='bogus' is not one of: "):
        ExperimentConfig().replace(**{key: "bogus"})


def test_config_presets_and_cli_options_import_without_tensorflow():
    code = (
        "import sys\n"
        "import tfclica, tfclica.config.experiment, tfclica.presets, tfclica.cli.options\n"
        "assert 'tensorflow' not in sys.modules, 'importing the config imported TensorFlow'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_a_short_run_of_a_warming_up_preset_warms_up_over_its_steps():
    from tfclica.cli.options import resolve_config

    assert get_preset("default").config.warmup_steps == 100
    assert resolve_config(None, None, {"steps": 50}).warmup_steps == 50
    assert resolve_config(None, None, {"steps": 500}).warmup_steps == 100  # room: kept
    # A warmup the user gave is theirs: too long is still an error naming it.
    with pytest.raises(ConfigError, match="warmup_steps=80 exceeds steps=50"):
        resolve_config(None, None, {"steps": 50, "warmup_steps": 80})
