"""Map library exceptions to the CLI's exit codes (2: bad usage or input, 1: run-time failure)."""

from __future__ import annotations


def exit_code_for(err: BaseException) -> tuple[int, str | None]:
    """``(exit code, one-line message)``; message ``None`` means an unexpected bug (re-raise)."""
    from tfclica.errors import ConfigError, RunError

    if isinstance(err, ConfigError):
        return 2, str(err)
    if isinstance(err, (FileNotFoundError, PermissionError, IsADirectoryError)):
        return 2, f"{err.strerror or err}: {err.filename}" if err.filename else str(err)
    if isinstance(err, OSError):  # disk full, I/O error: a run-time failure, still one line
        return 1, str(err).splitlines()[0] if str(err) else type(err).__name__
    if isinstance(err, KeyboardInterrupt):
        return 130, "interrupted"
    if isinstance(err, RunError):
        return 1, str(err)
    return 1, None
