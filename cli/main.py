"""Entry point of the ``tfclica`` command: the click group and uniform error handling.

Each command lives in its own module ``tfclica.cli.<name>`` exposing ``command``; modules import
TensorFlow only inside the command body, so ``tfclica --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys

import click

# The commands (`tfclica --help` lists them alphabetically). Every one must import: a missing
# module is a broken install, and fails here rather than vanishing from --help.
COMMAND_MODULES = (
    "train",
    "evaluate",
    "export",
    "encode",
    "sample",
    "render",
    "presets",
    "reproduce",
    "bench",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tfclica")
def cli() -> None:
    """Contrastive learning inverts the data generating process: train, evaluate, export."""


for _name in COMMAND_MODULES:
    cli.add_command(importlib.import_module(f"tfclica.cli.{_name}").command)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; bad usage or input gives one ``Error:`` line on stderr and exit code 2."""
    from tfclica.cli.errors import exit_code_for

    args = sys.argv[1:] if argv is None else list(argv)
    try:
        code = cli.main(args=args, standalone_mode=False)
    except click.exceptions.Exit as stop:
        code = stop.exit_code
    except click.exceptions.ClickException as err:
        click.echo(f"Error: {err.format_message()}", err=True)
        code = 2 if isinstance(err, click.UsageError) else err.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        code = 1
    except Exception as err:  # noqa: BLE001 - mapped to a one-line message and exit code
        code, message = exit_code_for(err)
        if message is None:
            raise
        click.echo(f"Error: {message}", err=True)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
