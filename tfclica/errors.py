"""Exceptions the CLI maps to exit codes without importing TensorFlow."""

from tfclica.config import ConfigError


class RunError(RuntimeError):
    """A failure at run time (exit code 1): divergence, an export that fails parity, ..."""


__all__ = ["ConfigError", "RunError"]
