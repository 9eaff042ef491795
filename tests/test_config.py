import dataclasses

import pytest

from tfclica.config.experiment import ExperimentConfig, parse_toml, to_toml
from tfclica.errors import ConfigError
from tfclica.presets import all_presets, get_preset


def test_toml_round_trip_is_exact():
    cfg = get_preset("default").config.replace(seed=7, lr=3e-4, tau=0.5, encoder_widths=())
    assert cfg.encoder_widths is None  # () is the reference's widths, as None
    assert cfg == dataclasses.replace(get_preset("default").config, encoder_widths=None).replace(
        seed=7, lr=3e-4, tau=0.5
    )
    again = ExperimentConfig().replace(**parse_toml(to_toml(cfg)))
    assert again == cfg.replace(encoder_widths=cfg.hidden_widths)
    assert again.hidden_widths == (100, 500, 500, 500, 500, 100)


def test_default_preset_matches_temperature_to_kappa():
    cfg = get_preset("default").config
    assert cfg.space == "sphere" and cfg.conditional == "vmf" and cfg.loss == "cosine"
    assert cfg.tau == pytest.approx(1.0 / cfg.conditional_scale)


def test_paper_preset_has_reference_schedule():
    cfg = get_preset("sphere-vmf-paper").config
    assert (cfg.batch_size, cfg.lr, cfg.tau, cfg.conditional_scale, cfg.steps) == (
        6144,
        1e-4,
        1.0,
        1.0,
        300_000,
    )


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"conditional_scale": 0.0}, "conditional_scale"),
        ({"tau": -1.0}, "tau"),
        ({"steps": 0}, "steps"),
        ({"batch_size": 0}, "batch_size"),
        ({"box_low": 1.0, "box_high": 0.0, "space": "box", "conditional": "normal"}, "box_low"),
        ({"space": "box"}, "vmf"),
        ({"space": "unbounded", "conditional": "normal"}, "uniform"),
        ({"no_such_key": 1}, "no_such_key"),
    ],
)
def test_invalid_settings_name_the_parameter(overrides, name):
    with pytest.raises(ConfigError, match=name):
        ExperimentConfig().replace(**overrides)


def test_presets_are_valid_and_named():
    names = [p.name for p in all_presets()]
    assert len(names) == len(set(names)) and "default" in names
    with pytest.raises(ConfigError, match="known presets"):
        get_preset("nope")
