"""``extractor review`` (the review app, and ``add-user`` for its accounts) and ``extractor export-reviews``."""

from __future__ import annotations

import ipaddress
import time
from pathlib import Path
from typing import Annotated

import typer

from extractor.cli.extract import err

app = typer.Typer(
    help="Serve the report as a web app where logged-in reviewers sign decisions; `add-user` makes accounts.",
    pretty_exceptions_show_locals=False,  # locals may hold a password
    invoke_without_command=True,
    no_args_is_help=False,
)

StoreArg = Annotated[
    Path, typer.Option("--store", exists=True, dir_okay=False, help="the DuckDB store of `extractor batch`")
]
EXPORT_ATTEMPTS = 50  # x 0.1 s: how long export-reviews waits while the review app writes a decision


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: addresses only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@app.callback()
def review(
    ctx: typer.Context,
    store: Annotated[
        Path | None, typer.Option("--store", exists=True, dir_okay=False, help="the DuckDB store of `extractor batch`")
    ] = None,
    host: Annotated[
        str, typer.Option(help="address to bind; a non-loopback address needs reviewer accounts")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8766,
    trial: Annotated[str | None, typer.Option("--trial", help="only this trial's verdicts")] = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option("--allowed-host", help="a Host name to serve besides the loopback ones (repeatable)"),
    ] = None,
    https: Annotated[bool, typer.Option("--https", help="behind a TLS proxy: send the session cookie Secure")] = False,
    trial_file: Annotated[
        list[Path] | None,
        typer.Option(
            "--trial-file", exists=True, dir_okay=False, help="a trial YAML screened from a file: its criteria's words"
        ),
    ] = None,
) -> None:
    """Serve the report as a web app where logged-in reviewers mark verdicts and facts and sign the overall."""
    if ctx.invoked_subcommand is not None:
        return
    if store is None:
        err.print("give --store (the store of `extractor batch`)")
        raise typer.Exit(2)
    import uvicorn

    from extractor.report import accounts
    from extractor.report.app import LOOPBACK_HOSTS, create_app
    from extractor.store import Store, StoreError

    try:
        with Store.open(store, read_only=True) as opened:
            has_accounts = accounts.has_accounts(opened)
    except StoreError as exc:
        err.print(str(exc), markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if not is_loopback(host) and not has_accounts:
        err.print(
            f"refusing to serve patient notes on {host} without reviewer accounts: add one with "
            "`extractor review add-user --store STORE NAME`, or bind 127.0.0.1"
        )
        raise typer.Exit(2)
    hosts = [*LOOPBACK_HOSTS, *(allowed_host or ())]
    if not is_loopback(host) and host not in ("0.0.0.0", "::"):
        hosts.append(host)
    if not has_accounts:
        err.print("no reviewer accounts: the pages are read-only (add one with `extractor review add-user`)")
    err.print(f"review app on http://{host}:{port}/ (Ctrl-C to stop)")
    uvicorn.run(create_app(store, trial, hosts, https, trial_file or ()), host=host, port=port, log_level="warning")


@app.command("add-user")
def add_user(
    store: StoreArg,
    name: Annotated[str, typer.Argument(help="the reviewer's name, as decisions will carry it")],
    password: Annotated[
        str,
        typer.Option(
            "--password",
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="asked for when not given; at least 12 characters",
        ),
    ],
) -> None:
    """Create a reviewer account (or set its password); only its Argon2id hash is stored."""
    from extractor.report import accounts
    from extractor.store import Store, StoreError

    try:
        with Store.open(store) as opened:
            new = accounts.add_user(opened, name, password)
    except accounts.AccountError as exc:
        err.print(str(exc))
        raise typer.Exit(2) from None
    except StoreError as exc:
        err.print(str(exc), markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    err.print(f"reviewer {name!r} {'added' if new else 'password changed'}; restart a running review app")


def export_reviews(
    store: StoreArg,
    output: Annotated[Path, typer.Option("-o", "--output", dir_okay=False, help="reviews .jsonl to write")] = Path(
        "reviews.jsonl"
    ),
) -> None:
    """Every reviewer decision, oldest first, one JSON line each (gold for `evaluate screen --reviews`).

    Runs while the review app serves the same store: the app holds the store only for the
    moment of each request, and this waits up to five seconds for one to finish.
    """
    from extractor.report import reviews
    from extractor.store import Store, StoreError

    for attempt in range(EXPORT_ATTEMPTS):
        try:
            with Store.open(store, read_only=True) as opened:
                count = reviews.export(opened, output)
            break
        except StoreError as exc:
            if attempt == EXPORT_ATTEMPTS - 1:
                err.print(str(exc), markup=False, soft_wrap=True)
                raise typer.Exit(2) from None
            time.sleep(0.1)
    err.print(f"{output}: {count} decisions")
