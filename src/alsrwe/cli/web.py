"""Serving the clinic web app."""

from __future__ import annotations

from typing import Annotated

import typer

from alsrwe.cli.common import (
    DatabaseOption,
    app,
    existing_registry,
    out,
    user_errors,
)
from alsrwe.domain.errors import (
    Conflict,
)


@app.command()
def serve(
    database: DatabaseOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(
        min=1, help="Processes sharing the port (for a server: one per core).")] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "info",
) -> None:
    """Serve the clinic web app (and its JSON API) over the registry."""
    from alsrwe.web.server import serve as run_server
    from alsrwe.web.settings import WebSettings

    with user_errors():
        settings = WebSettings(database_url=existing_registry(database))
        out.print(f"alsrwe web app on [bold]http://{host}:{port}/[/bold] with {workers} "
                  f"worker{'s' if workers > 1 else ''} (Ctrl-C stops it)")
        try:
            run_server(host, port, settings, workers=workers, access_log=access_log,
                       log_level=log_level)
        except OSError as error:
            raise Conflict(f"cannot serve on {host}:{port}: {error.strerror or error}") from None

