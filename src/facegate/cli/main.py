"""The ``facegate`` command line. Every error is a typed message and a stable exit code."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from facegate import __version__
from facegate.cli import (
    access,
    accountability,
    admin,
    bench,
    compliance,
    demo,
    detector,
    engines,
    ledger,
    liveness,
    operator_accounts,
    people,
    recognition,
    retention,
    security_audit,
    serve,
)
from facegate.cli.context import DEFAULT_ACTOR, Context, fail
from facegate.cli.help_format import hide_flag_types
from facegate.core.config import Engine
from facegate.errors import FacegateError, FileSystemError

app = typer.Typer(
    name="facegate",
    help="Face-recognition access control for residential communities, private by design.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
hide_flag_types()
_state = Context()
logger = logging.getLogger(__name__)


@app.callback()
def root(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Data directory (default: $FACEGATE_DATA_DIR or ./.facegate)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    actor: Annotated[
        str, typer.Option(help="Operator name recorded in the audit log.")
    ] = DEFAULT_ACTOR,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
    engine: Annotated[
        Engine | None,
        typer.Option(help="Recognition engine: sface or dlib (default $FACEGATE_ENGINE or sface)."),
    ] = None,
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr)
    _state.reset(data_dir, as_json, actor, engine)
    ctx.obj = _state


@app.command()
def version() -> None:
    """Print facegate's version."""
    _state.emit({"version": __version__}, __version__)


people.register(app)
ledger.register(app)
recognition.register(app)
bench.register(app)
demo.register(app)
serve.register(app)
access.register(app)
accountability.register(app)
compliance.register(app)
retention.register(app)
admin.register(app)
liveness.register(app)
detector.register(app)
engines.register(app)
security_audit.register(app)
operator_accounts.register(app)


#: Exit code for a failure facegate did not anticipate (a bug); see ``--verbose`` logs.
INTERNAL_ERROR_EXIT = 70


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    _state.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=argv)  # standalone: usage errors print and exit 2 through SystemExit
    except FacegateError as exc:
        return fail(_state, exc).exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except OSError as exc:
        return fail(
            _state, FileSystemError(f"{exc.strerror or exc}: {exc.filename or ''}")
        ).exit_code
    except Exception as exc:
        logger.info("unexpected failure", exc_info=True)  # shown with -v
        error = FacegateError(f"internal error ({type(exc).__name__}: {exc}); run with -v")
        fail(_state, error)
        return INTERNAL_ERROR_EXIT
    return 0


if __name__ == "__main__":
    sys.exit(main())
