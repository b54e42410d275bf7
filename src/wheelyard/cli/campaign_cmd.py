"""`wheelyard campaign`: rebuild what a new Python, a new or dropped variant, or an ABI pin
touches, in dependency order, on a running farm.

`campaign start --wait` exits 0 when the campaign is done, 1 when it stalled (a failed package:
`campaign retry`) or was cancelled, 2 when the farm refused it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from wheelyard.cli.farm_cmd import (
    DEFAULT_DATA,
    DEFAULT_URL,
    DataOpt,
    JsonOpt,
    TokenOpt,
    UrlOpt,
    _client,
)
from wheelyard.cli.output import console, print_json
from wheelyard.errors import FarmError
from wheelyard.farm.client import FarmClient

app = typer.Typer(
    help="Rebuild campaigns: a new Python, a new CUDA, a new ABI pin, in dependency order.",
    no_args_is_help=True,
)

STATE_STYLE = {
    "done": "green",
    "building": "yellow",
    "pending": "white",
    "waiting-for-dependencies": "cyan",
    "failed": "red",
    "skipped": "dim",
    "cancelled": "magenta",
}


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _print_campaign(campaign: dict[str, Any], url: str) -> None:
    counts = ", ".join(f"{count} {state}" for state, count in campaign["counts"].items())
    console.print(
        f"campaign {campaign['id']} ({escape(campaign['description'])}): "
        f"[bold]{escape(campaign['state'])}[/] · {campaign['done']}/{campaign['total']} "
        f"finished ({escape(counts)}) · about {_minutes(campaign['remaining_seconds'])} of "
        "machine time left"
    )
    table = Table()
    for column in ("#", "package", "state", "detail", "why", "rebuild"):
        table.add_column(column)
    for package in campaign["packages"]:
        state = package["state"]
        detail = []
        if package.get("blocker"):
            detail.append(f"waits for {package['blocker']}")
        if package.get("message"):
            detail.append(package["message"])
        if state == "failed" and package.get("log_url"):
            detail.append(f"log {url.rstrip('/')}{package['log_url']}")
        rebuild = f"build {package['build_id']}" if package.get("build_id") else "-"
        if package.get("version"):
            rebuild += f" {package['version']}"
        table.add_row(
            str(package["position"] + 1),
            escape(package["package"]),
            f"[{STATE_STYLE.get(state, 'white')}]{escape(state)}[/]",
            escape(" · ".join(detail)) or "-",
            escape(package["reason"]),
            escape(rebuild),
        )
    console.print(table)


def _print_plan(plan: dict[str, Any]) -> None:
    table = Table(title="campaign plan (dry run)")
    for column in ("#", "package", "state", "why", "builds against", "estimate"):
        table.add_column(column)
    for package in plan["packages"]:
        table.add_row(
            str(package["position"] + 1),
            escape(package["name"]),
            escape(package["state"] + (f": {package['message']}" if package["message"] else "")),
            escape(package["reason"]),
            escape(", ".join(package["depends_on"]) or "-"),
            _minutes(float(package["estimate_seconds"])),
        )
    console.print(table)


@app.command("start")
def start_command(
    add_python: Annotated[
        list[str] | None, typer.Option("--add-python", help="A new Python (cp314; repeat).")
    ] = None,
    add_variant: Annotated[
        list[str] | None, typer.Option("--add-variant", help="A new variant (cu130; repeat).")
    ] = None,
    drop_variant: Annotated[
        list[str] | None, typer.Option("--drop-variant", help="A variant to drop (cu126).")
    ] = None,
    pin: Annotated[
        list[str] | None,
        typer.Option("--pin", help="An ABI pin: torch==2.14.*, or <farm package>==<version>."),
    ] = None,
    package: Annotated[
        list[str] | None, typer.Option("--package", "-p", help="Only these packages.")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Packages rebuilt at once.")] = 2,
    date: Annotated[
        str | None,
        typer.Option(help="Build date (YYYY-MM-DD) of pinned rebuilds; default today."),
    ] = None,
    heartbeat: Annotated[
        float | None, typer.Option("--heartbeat", help="Seconds before a silent stage retries.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan; start nothing.")
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow the campaign until it ends.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds --wait waits.")] = 24 * 3600.0,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
    data: DataOpt = DEFAULT_DATA,
    as_json: JsonOpt = False,
) -> None:
    """Start a campaign: the packages the trigger touches and their dependents, rebuilt in
    dependency order (admin token)."""
    client = _client(url, token, data)
    body: dict[str, Any] = {
        "add_python": add_python or [],
        "add_variants": add_variant or [],
        "drop_variants": drop_variant or [],
        "pins": pin or [],
        "packages": package or [],
        "concurrency": concurrency,
        "dry_run": dry_run,
    }
    if date:
        body["date"] = date
    if heartbeat is not None:
        body["heartbeat_seconds"] = heartbeat
    result = client.start_campaign(body)
    if dry_run:
        if as_json:
            print_json(result)
        else:
            _print_plan(result)
        return
    if wait:
        result = _follow(client, int(result["id"]), timeout=timeout, url=url, quiet=as_json)
    if as_json:
        print_json(result)
    elif not wait:
        _print_campaign(result, url)
    if wait and result["state"] != "done":
        raise FarmError(f"campaign {result['id']} is {result['state']}")


def _follow(
    client: FarmClient, campaign_id: int, *, timeout: float, url: str, quiet: bool
) -> dict[str, Any]:
    last: list[Any] = []

    def progress(current: dict[str, Any]) -> None:
        states = [current["state"], *((p["state"], p.get("blocker")) for p in current["packages"])]
        if states != last and not quiet:
            last[:] = states
            _print_campaign(current, url)

    return client.wait_campaign(campaign_id, timeout=timeout, progress=progress)


@app.command("status")
def status_command(
    campaign_id: Annotated[
        int | None, typer.Argument(help="The campaign's number (default: list them).")
    ] = None,
    url: UrlOpt = DEFAULT_URL,
    wait: Annotated[bool, typer.Option("--wait", help="Follow it until it ends.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds --wait waits.")] = 24 * 3600.0,
    as_json: JsonOpt = False,
) -> None:
    """A campaign's packages (done, building, waiting-for-dependencies with the blocker,
    failed with the log, skipped with the reason), counts and the machine time left."""
    client = FarmClient(url)
    if campaign_id is None:
        campaigns = client.campaigns()
        if as_json:
            print_json(campaigns)
            return
        for campaign in campaigns:
            console.print(
                f"campaign {campaign['id']} ({escape(campaign['description'])}): "
                f"{escape(campaign['state'])} · {campaign['done']}/{campaign['total']}"
            )
        return
    result = (
        _follow(client, campaign_id, timeout=timeout, url=url, quiet=as_json)
        if wait
        else client.campaign(campaign_id)
    )
    if as_json:
        print_json(result)
    elif not wait:
        _print_campaign(result, url)


def _action(
    campaign_id: int, action: str, url: str, token: str | None, data: Path, **body: Any
) -> None:
    result = _client(url, token, data).campaign_action(campaign_id, action, body or None)
    console.print(f"campaign {result['id']}: {action} requested ({escape(result['state'])})")


@app.command("pause")
def pause_command(
    campaign_id: Annotated[int, typer.Argument()],
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
    data: DataOpt = DEFAULT_DATA,
) -> None:
    """Start no further package; the ones building finish."""
    _action(campaign_id, "pause", url, token, data)


@app.command("resume")
def resume_command(
    campaign_id: Annotated[int, typer.Argument()],
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
    data: DataOpt = DEFAULT_DATA,
) -> None:
    """Go on after a pause."""
    _action(campaign_id, "resume", url, token, data)


@app.command("cancel")
def cancel_command(
    campaign_id: Annotated[int, typer.Argument()],
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
    data: DataOpt = DEFAULT_DATA,
) -> None:
    """Cancel the campaign: running rebuilds are cancelled, nothing else starts."""
    _action(campaign_id, "cancel", url, token, data)


@app.command("retry")
def retry_command(
    campaign_id: Annotated[int, typer.Argument()],
    package: Annotated[str, typer.Argument(help="The failed package.")],
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
    data: DataOpt = DEFAULT_DATA,
) -> None:
    """Rebuild a failed package again; what waits for it goes on once it is published."""
    _action(campaign_id, "retry", url, token, data, package=package)


@app.command("graph")
def graph_command(url: UrlOpt = DEFAULT_URL, as_json: JsonOpt = False) -> None:
    """The dependency graph of the farm's packages."""
    graph = FarmClient(url).graph()
    if as_json:
        print_json(graph)
        return
    deps: dict[str, list[str]] = {name: [] for name in graph["packages"]}
    for edge in graph["edges"]:
        deps[edge["package"]].append(f"{edge['depends_on']} ({', '.join(edge['kinds'])})")
    for name, listed in deps.items():
        console.print(f"{escape(name)}: {escape(', '.join(listed) or '-')}")
