"""The `wheelyard` command: sub-commands, --debug, and the single place errors become exits."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Annotated, Any

import typer

from wheelyard import __version__
from wheelyard.cli import (
    build_cmd,
    campaign_cmd,
    catalog_cmd,
    ci_cmd,
    config_cmd,
    detect_cmd,
    diff_cmd,
    env_cmd,
    farm_cmd,
    image_cmd,
    install_cmd,
    plan_cmd,
    publish_cmd,
    smoke_cmd,
    upload_cmd,
    verify_cmd,
    worker_cmd,
)
from wheelyard.cli.output import err_console, report_error
from wheelyard.errors import WheelyardError

app = typer.Typer(
    name="wheelyard",
    help="Plan, build, verify and publish wheels for every Python x platform x accelerator.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("plan")(plan_cmd.plan_command)
app.command("build")(build_cmd.build_command)
app.command("env")(env_cmd.env_command)
app.command("catalog")(catalog_cmd.catalog_command)
app.command("verify")(verify_cmd.verify_command)
app.command("smoke")(smoke_cmd.smoke_command)
app.command("diff")(diff_cmd.diff_command)
app.command("publish")(publish_cmd.publish_command)
app.command("upload")(upload_cmd.upload_command)
app.command("detect")(detect_cmd.detect_command)
app.command("install")(install_cmd.install_command)
app.add_typer(config_cmd.app, name="config")
app.add_typer(image_cmd.app, name="image")
app.add_typer(ci_cmd.app, name="ci")
app.add_typer(farm_cmd.app, name="farm")
app.add_typer(campaign_cmd.app, name="campaign")
app.command("worker")(worker_cmd.worker_command)

_debug = False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wheelyard {__version__}")
        raise typer.Exit


@app.callback()
def main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks (env: WHEELYARD_DEBUG=1).")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print version.")
    ] = False,
) -> None:
    """wheelyard: a build farm for Python packages with native code."""
    global _debug  # noqa: PLW0603 - the one process-wide CLI switch
    _debug = debug or os.environ.get("WHEELYARD_DEBUG", "") not in ("", "0")


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _terminate_like_ctrl_c() -> (
    signal.Handlers | Callable[[int, FrameType | None], Any] | int | None
):
    """Make SIGTERM raise KeyboardInterrupt (main thread, default handler only); the old
    handler, to restore."""
    if threading.current_thread() is not threading.main_thread():
        return None
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return None
    return signal.signal(signal.SIGTERM, _interrupt)


def run(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning wheelyard errors into a message and an exit code.

    SIGTERM stops a command as Ctrl-C does: what it started is stopped, its temp folders are
    removed and what was done is recorded."""
    previous = _terminate_like_ctrl_c()
    try:
        app(args=argv)  # usage errors print themselves and exit 2 (standalone mode)
    except WheelyardError as exc:
        if _debug:
            raise
        report_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
