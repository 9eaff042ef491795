"""Every exception tfclica raises, in one place (importing it does not import TensorFlow).

The CLI maps them to exit codes (``tfclica.cli.errors``): a :class:`ConfigError` (bad usage,
config or input) exits 2 with its one-line message; a :class:`RunError` (a failure at run time)
exits 1.
"""


class ConfigError(ValueError):
    """A setting or input that cannot describe a valid experiment; the message names it."""


class EncoderInputError(ConfigError):
    """An input array a loaded encoder cannot take; the message names the expected shape."""


class RunError(RuntimeError):
    """A failure at run time (exit code 1): divergence, an export that fails parity, ..."""


class TrainingDivergedError(RunError):
    """The loss became NaN or Inf; the message names the step and the last good checkpoint."""


class ParityError(RunError):
    """An exported encoder disagrees with the Keras encoder beyond the tolerance."""


__all__ = [
    "ConfigError",
    "EncoderInputError",
    "ParityError",
    "RunError",
    "TrainingDivergedError",
]
