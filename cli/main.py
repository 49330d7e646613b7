"""The `mlops` command: a thin click front over spec, compiler, harness and serving.

Commands load lazily so `mlops validate` never imports the heavy parts (onnxruntime, locust...).
User mistakes (`MlopsError`) print located messages and exit 1 (usage errors 2), never a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import click

from mlops.core.errors import MlopsError

# name -> "module:attribute"; each command module is owned by one part of the product.
COMMANDS: dict[str, str] = {
    "validate": "mlops.cli.commands.spec_commands:validate",
    "schema": "mlops.cli.commands.spec_commands:schema",
    "init": "mlops.cli.commands.spec_commands:init",
    "docs": "mlops.cli.commands.spec_commands:docs",
    "compile": "mlops.cli.commands.compile:compile_command",
    "serve": "mlops.cli.commands.serve:serve",
    "build": "mlops.cli.commands.build:build",
    "gate": "mlops.cli.commands.gate:gate",
    "release": "mlops.cli.commands.gate:release",
    "report": "mlops.cli.commands.report:report",
    "monitor": "mlops.cli.commands.monitor:monitor",
    "plugins": "mlops.cli.commands.plugins:plugins",
    "sign": "mlops.cli.commands.signing:sign",
    "verify": "mlops.cli.commands.signing:verify",
    "history": "mlops.cli.commands.deploy:history",
    "audit": "mlops.cli.commands.deploy:audit",
    "rollback": "mlops.cli.commands.deploy:rollback",
    "predict": "mlops.cli.commands.predict:predict",
}


class LazyGroup(click.Group):
    """A click group whose commands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._importable(name))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        return command

    @staticmethod
    def _importable(name: str) -> bool:
        return importlib.util.find_spec(COMMANDS[name].split(":")[0]) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mlops-yaml", prog_name="mlops")
def cli() -> None:
    """Validate, compile, gate and serve an ML model from one mlops.yaml."""


def main(argv: list[str] | None = None) -> None:
    """Entry point: maps user errors to exit codes (1 spec/gate, 2 usage)."""
    try:
        code = cli.main(args=argv, prog_name="mlops", standalone_mode=False)
    except MlopsError as error:
        click.echo(str(error), err=True)
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(2 if isinstance(error, click.UsageError) else error.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
