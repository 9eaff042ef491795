"""The experiment config (:class:`~tfclica.config.experiment.ExperimentConfig`), the names it
accepts (:mod:`~tfclica.config.vocabulary`) and its TOML form (:mod:`~tfclica.config.toml`)."""
