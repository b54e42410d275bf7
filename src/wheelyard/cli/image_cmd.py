"""`wheelyard image`: build wheelyard's own builder images and list the ones that exist."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich import filesize
from rich.markup import escape
from rich.table import Table

from wheelyard.builder.engine import detect_engine
from wheelyard.builder.image.ensure import (
    ImageBuildResult,
    ImageSettings,
    ensure_image,
    list_builder_images,
    resolve_request,
)
from wheelyard.builder.image.recipe import BuilderImage
from wheelyard.catalog import Catalog, load_catalog
from wheelyard.cli.common import load
from wheelyard.cli.output import console, err_console, print_json
from wheelyard.cli.progress import Progress
from wheelyard.config.vocab import Platform
from wheelyard.errors import ImageRequestError
from wheelyard.host.platform import host_platform

app = typer.Typer(help="Build and list wheelyard's builder images.", no_args_is_help=True)

EngineOpt = Annotated[
    str | None, typer.Option("--engine", help="podman or docker (default: the first that works).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON object on stdout.")]


def _settings(cache_dir: Path | None, pyenv_root: Path | None) -> ImageSettings:
    default = ImageSettings.default()
    if cache_dir is None:
        xdg = os.environ.get("XDG_CACHE_HOME")
        cache_dir = Path(xdg) / "wheelyard" / "images" if xdg else default.cache_dir
    return ImageSettings(cache_dir=cache_dir, pyenv_root=pyenv_root or default.pyenv_root)


def _catalog(package: Path | None) -> Catalog:
    return load(package, None, None).catalog if package is not None else load_catalog()


def result_table(result: ImageBuildResult) -> Table:
    image = result.image
    title = f"{result.ref}: {'up to date (cached)' if result.cached else 'built'}"
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("key", style="dim")
    table.add_column("value")
    rows = [
        ("variant", f"{result.variant} on {result.platform}"),
        ("id", image.info.short_id),
        ("digest", image.info.digest or "-"),
        ("size", filesize.decimal(image.info.size)),
        ("interpreters", " ".join(image.interpreters)),
        ("toolkit", " / ".join(f"{k} {v}" for k, v in image.toolkit.items())),
        ("tools", " / ".join(f"{k} {v}" for k, v in image.tools.items())),
        ("recipe hash", result.recipe_hash),
    ]
    if not result.cached:
        rows.append(("time", f"{result.seconds:.1f} s"))
        rows.append(("log", str(result.log_path)))
    if result.replaced:
        rows.append(("replaced", result.replaced[:12]))
    if result.base is not None:
        base = result.base
        rows.append(("base", f"{base.ref} ({'cached' if base.cached else 'built'})"))
    for key, value in rows:
        table.add_row(key, escape(value))
    return table


@app.command("build")
def build(
    variant: Annotated[
        str, typer.Option("--variant", "-v", help="Variant whose image to build (cpu, cu130 ...).")
    ],
    platform: Annotated[
        Platform | None, typer.Option(help="Target platform (default: this machine's).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even when the recipe did not change.")
    ] = False,
    as_json: JsonOpt = False,
    engine_name: EngineOpt = None,
    pyenv_root: Annotated[
        Path | None,
        typer.Option(envvar="PYENV_ROOT", help="pyenv root holding the CPython builds."),
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="WHEELYARD_IMAGE_CACHE",
            help="Logs, .deb cache and work folders (default: ~/.cache/wheelyard/images).",
        ),
    ] = None,
    package: Annotated[
        Path | None,
        typer.Option(help="Include the catalog extension of this package's recipe."),
    ] = None,
) -> None:
    """Build (or reuse) the builder image of a variant, tagged as the catalog names it."""
    catalog = _catalog(package)
    host = host_platform()
    target = platform or host
    if target is None:
        raise ImageRequestError(
            "this machine's platform is not one wheelyard builds for", hint="pass --platform"
        )
    request = resolve_request(catalog, variant, target, host=host)
    engine = detect_engine(engine_name)
    settings = _settings(cache_dir, pyenv_root)
    if not as_json:
        err_console.print(
            f"builder image [bold]{escape(request.ref)}[/] ({escape(variant)} on {target}, "
            f"{engine.name}) "
            f"[dim](log folder {escape(str(settings.log_dir))})[/]"
        )
    with Progress() as progress:
        result = ensure_image(
            variant,
            target,
            catalog=catalog,
            engine=engine,
            settings=settings,
            force=force,
            progress=progress.step,
        )
    if as_json:
        print_json(result.to_json())
    else:
        console.print(result_table(result))


def images_table(images: list[BuilderImage]) -> Table:
    table = Table(title="wheelyard builder images", title_justify="left")
    for column in ("image", "variant", "id", "digest", "size", "created", "interpreters"):
        table.add_column(column, justify="right" if column == "size" else "left")
    table.add_column("toolkit")
    for image in images:
        digest = image.info.digest or "-"
        table.add_row(
            escape(image.ref),
            image.variant,
            image.info.short_id,
            escape(digest[:19] + "…" if len(digest) > 20 else digest),
            filesize.decimal(image.info.size),
            escape(image.info.created[:19]),
            " ".join(image.interpreters),
            escape(" / ".join(f"{k} {v}" for k, v in image.toolkit.items())),
        )
    return table


@app.command("list")
def list_command(as_json: JsonOpt = False, engine_name: EngineOpt = None) -> None:
    """The wheelyard builder images that exist, with what they hold."""
    engine = detect_engine(engine_name)
    images = list_builder_images(engine)
    if as_json:
        print_json({"engine": engine.name, "images": [image.to_json() for image in images]})
        return
    if not images:
        console.print("no wheelyard builder images; build one with `wheelyard image build -v cpu`")
        return
    console.print(images_table(images))
