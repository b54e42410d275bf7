"""``/api``: builds, jobs and their logs, wheels, packages, workers, tokens, schedules."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from packaging.utils import canonicalize_name
from temporalio.service import RPCError

from wheelyard.config.load import MAX_FARM_RECIPE_BYTES, check_farm_recipe, local_torch_sources
from wheelyard.config.vocab import Channel
from wheelyard.errors import FarmForbiddenError, FarmNotFoundError, FarmRequestError
from wheelyard.farm.api import schemas
from wheelyard.farm.api.auth import Authenticated, require_admin, require_package
from wheelyard.farm.api.context import RowId, ServiceContext, context_of
from wheelyard.farm.builds import records
from wheelyard.farm.builds.source import SourceSpec, store_upload
from wheelyard.farm.builds.submit import (
    Submission,
    authorise_early,
    check_project_name,
    discard,
    recipe_for,
    register,
    stage,
    start,
)
from wheelyard.farm.messages import ScheduledBuild
from wheelyard.farm.tokens import create_token, list_tokens, revoke_token
from wheelyard.farm.vocab import BuildState, JobState, SourceKind
from wheelyard.pipeline import BuildOptions

router = APIRouter(prefix="/api", tags=["api"])
WORKER_STALE = dt.timedelta(minutes=3)
LOG_POLL = 1.0
CHUNK = 1 << 16


def _source(git: schemas.GitSource | None, path: str | None) -> SourceSpec:
    if (git is None) == (path is None):
        raise FarmRequestError("give exactly one source: git (url, ref) or path")
    if git is not None:
        return SourceSpec(kind=SourceKind.GIT, location=git.url, ref=git.ref)
    assert path is not None
    return SourceSpec(kind=SourceKind.PATH, location=path)


async def _accept(
    context: ServiceContext, submission: Submission, who: Authenticated
) -> schemas.Accepted:
    """Check, stage, authorise, record and start a submission."""
    authorise_early(submission, who)
    database = context.database
    staged = await run_in_threadpool(
        stage, context.settings, submission, lambda name: recipe_for(database, name)
    )
    try:
        for name in staged.packages:  # what is built (a bare repository root is not)
            require_package(who, name)
    except FarmRequestError:
        discard(staged)
        raise
    request = await run_in_threadpool(register, context.settings, database, submission, staged, who)
    await start(database, context.orchestrator, request)
    with database.session() as session:
        return schemas.Accepted(
            build=schemas.BuildOut.model_validate(records.get_build(session, request.build_id))
        )


@router.post("/builds", status_code=202, responses={401: {}, 403: {}, 422: {}})
async def submit_build(
    body: schemas.BuildSubmission, who: Authenticated, request: Request
) -> schemas.Accepted:
    """Build a git repository at a ref (or, with an admin token, a directory of the farm)."""
    submission = Submission(
        source=_source(body.git, body.path),
        options=BuildOptions(
            variants=tuple(body.variants),
            python=tuple(body.python),
            channel=body.channel,
            profile=body.profile,
            date=body.date,
        ),
        package=body.package,
        job_timeout_seconds=body.job_timeout_seconds,
        queue_wait_seconds=body.queue_wait_seconds,
        gpu_wait_seconds=body.gpu_wait_seconds,
        heartbeat_seconds=body.heartbeat_seconds,
    )
    return await _accept(context_of(request), submission, who)


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the upload is {declared} bytes; the limit is {limit}")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise HTTPException(413, f"the upload is over the limit of {limit} bytes")
    return bytes(data)


@router.post(
    "/builds/sdist",
    status_code=202,
    responses={401: {}, 403: {}, 413: {}, 422: {}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def submit_sdist(
    request: Request,
    who: Authenticated,
    filename: Annotated[str, Query(description="The sdist's file name (NAME-VERSION.tar.gz).")],
    package: str | None = None,
    variants: Annotated[list[str] | None, Query()] = None,
    python: Annotated[list[str] | None, Query()] = None,
    channel: Channel | None = None,
    date: dt.date | None = None,
) -> schemas.Accepted:
    """Build an uploaded sdist (the request body; size-limited, unpacked safely)."""
    context = context_of(request)
    if package is not None and not who.may_write(package):
        require_package(who, package)
    data = await _read_limited(request, context.upload_limit)
    uploads = context.settings.data_dir / "uploads"
    before = set(uploads.iterdir()) if uploads.is_dir() else set()
    path = await run_in_threadpool(
        store_upload, data, filename, uploads, limit=context.upload_limit
    )
    submission = Submission(
        source=SourceSpec(kind=SourceKind.SDIST, location=str(path)),
        options=BuildOptions(
            variants=tuple(variants or ()), python=tuple(python or ()), channel=channel, date=date
        ),
        package=package,
    )
    try:
        return await _accept(context, submission, who)
    except BaseException:
        if path not in before:  # this request's file, refused: nothing of it stays
            path.unlink(missing_ok=True)
        raise


@router.get("/builds")
def list_builds(
    request: Request,
    package: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[schemas.BuildOut]:
    with context_of(request).database.session() as session:
        builds = records.list_builds(session, package=package, limit=limit, offset=offset)
        return [schemas.BuildOut.model_validate(b) for b in builds]


@router.get("/builds/{build_id}", responses={404: {}})
async def get_build(build_id: RowId, request: Request) -> schemas.BuildDetail:
    context = context_of(request)

    def read() -> schemas.BuildDetail:
        with context.database.session() as session:
            return schemas.BuildDetail.model_validate(records.get_build(session, build_id))

    detail = await run_in_threadpool(read)
    if not BuildState(detail.state).finished:
        detail.waiting = await context.orchestrator.waiting(build_id)
    return detail


@router.get("/builds/{build_id}/jobs", responses={404: {}})
def list_jobs(build_id: RowId, request: Request) -> list[schemas.JobOut]:
    with context_of(request).database.session() as session:
        return [
            schemas.JobOut.model_validate(job) for job in records.get_build(session, build_id).jobs
        ]


@router.post(
    "/builds/{build_id}/cancel", status_code=202, responses={401: {}, 403: {}, 404: {}, 409: {}}
)
async def cancel_build(build_id: RowId, who: Authenticated, request: Request) -> schemas.BuildOut:
    """Cancel a running build: its jobs' containers are stopped, nothing is published."""
    context = context_of(request)
    with context.database.session() as session:
        build = records.get_build(session, build_id)
        require_package(who, build.package.name)
        if BuildState(build.state).finished:
            raise HTTPException(409, f"build {build_id} is already {build.state}")
    await context.orchestrator.cancel_build(build_id)
    with context.database.session() as session:
        return schemas.BuildOut.model_validate(records.get_build(session, build_id))


def _log_state(context: ServiceContext, build_id: RowId, job_id: str) -> tuple[str | None, bool]:
    with context.database.session() as session:
        build = records.get_build(session, build_id)
        job = next((j for j in build.jobs if j.job_id == job_id), None)
        if job is None:
            raise FarmNotFoundError(f"build {build_id} has no job {job_id}")
        path = job.log_path or f"builds/{build_id}/jobs/{job_id}"
        return path, JobState(job.state).finished or BuildState(build.state).finished


def _log_file(context: ServiceContext, relative: str | None) -> str | None:
    if relative is None:
        return None
    path = context.settings.path(relative)
    if path.is_dir():
        # A job still building: its newest attempt's log.
        logs = sorted(path.glob("attempt-*/logs/*.log"), key=lambda p: p.stat().st_mtime)
        return str(logs[-1]) if logs else None
    return str(path) if path.is_file() else None


@router.get(
    "/builds/{build_id}/jobs/{job_id}/log",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/plain": {}}}, 404: {}},
)
async def job_log(
    build_id: RowId,
    job_id: str,
    request: Request,
    follow: Annotated[bool, Query(description="Keep streaming until the job ends.")] = False,
) -> StreamingResponse:
    """A job's build log (cibuildwheel's output), whole or followed while the job runs."""
    context = context_of(request)
    relative, finished = await run_in_threadpool(_log_state, context, build_id, job_id)
    if _log_file(context, relative) is None and (finished or not follow):
        raise FarmNotFoundError(f"job {job_id} of build {build_id} has no log yet")
    following = follow and not finished
    state = request.app.state
    if following:
        if getattr(state, "log_followers", 0) >= context.follow_limit:
            raise HTTPException(
                429, f"{context.follow_limit} logs are followed already; try again later"
            )
        state.log_followers = getattr(state, "log_followers", 0) + 1

    async def lines() -> AsyncIterator[bytes]:
        position = 0
        done = finished
        deadline = time.monotonic() + context.follow_seconds
        try:
            while True:
                name = _log_file(context, relative)
                if name is not None:
                    with open(name, "rb") as fh:  # noqa: PTH123 - a plain seekable file
                        fh.seek(position)
                        while chunk := fh.read(CHUNK):
                            position += len(chunk)
                            yield chunk
                if not follow or done or await request.is_disconnected():
                    return
                if time.monotonic() > deadline:
                    yield (
                        f"\n[following stopped after {context.follow_seconds:.0f} s; "
                        "ask again to go on]\n"
                    ).encode()
                    return
                await asyncio.sleep(LOG_POLL)
                _, done = await run_in_threadpool(_log_state, context, build_id, job_id)
        finally:
            if following:
                state.log_followers -= 1

    return StreamingResponse(lines(), media_type="text/plain; charset=utf-8")


@router.get("/wheels")
def list_wheels(
    request: Request,
    package: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[schemas.WheelOut]:
    with context_of(request).database.session() as session:
        return [
            schemas.WheelOut.model_validate(w)
            for w in records.list_wheels(session, package=package, limit=limit)
        ]


@router.get("/packages")
def list_packages(request: Request) -> list[schemas.PackageOut]:
    with context_of(request).database.session() as session:
        out = []
        for package in records.list_packages(session):
            builds = records.list_builds(session, package=package.name, limit=1)
            out.append(
                schemas.PackageOut(
                    name=package.name,
                    builds=len(package.builds),
                    latest_build=builds[0].id if builds else None,
                    latest_state=builds[0].state if builds else None,
                    index_url=f"/simple/{package.name}/",
                )
            )
        return out


@router.put(
    "/packages/{name}/recipe",
    responses={401: {}, 403: {}, 413: {}, 422: {}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "TOML: [tool.wheelyard] keys",
        }
    },
)
async def set_recipe(name: str, who: Authenticated, request: Request) -> dict[str, str]:
    """Store the package's farm-side recipe (layered over its own ``[tool.wheelyard]``);
    size-limited and checked against the recipe's schema before it is stored."""
    require_package(who, name)
    data = await _read_limited(request, MAX_FARM_RECIPE_BYTES)
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FarmRequestError(f"the recipe of {name} is not UTF-8 text") from exc
    checked = check_farm_recipe(content, source=f"recipe of {name}")
    local = local_torch_sources(checked)
    if local and not who.admin:
        raise FarmForbiddenError(
            f"the recipe of {name} names folders of this machine as torch sources "
            f"({', '.join(local)}): only an admin token may"
        )
    with context_of(request).database.session() as session:
        recipe = records.set_recipe(session, name, content)
        return {"package": str(canonicalize_name(name)), "sha256": recipe.sha256}


@router.post("/packages/{name}/schedule", status_code=201, responses={401: {}, 403: {}, 422: {}})
async def schedule_nightly(
    name: str, body: schemas.ScheduleRequest, who: Authenticated, request: Request
) -> dict[str, str]:
    """A Temporal schedule building the package (e.g. nightly at 02:00 UTC). Checked as a
    submission is, now (the token's rights, the source, the plan); each run may then plan only
    the packages planned now."""
    require_package(who, name)
    context = context_of(request)
    options = BuildOptions(variants=tuple(body.variants), python=tuple(body.python))
    submission = Submission(source=_source(body.git, body.path), options=options, package=name)
    authorise_early(submission, who)
    database = context.database
    staged = await run_in_threadpool(
        stage, context.settings, submission, lambda package: recipe_for(database, package)
    )
    try:
        for planned in staged.packages:
            require_package(who, planned)
    finally:
        discard(staged)
    package = str(canonicalize_name(name))
    schedule_id = f"nightly-{package}"
    spec = submission.source
    try:
        await context.orchestrator.schedule_nightly(
            schedule_id,
            body.cron,
            ScheduledBuild(
                package=package,
                source_kind=str(spec.kind),
                source=spec.location,
                ref=spec.ref,
                options=options.model_dump(mode="json"),
                packages=list(dict.fromkeys(str(canonicalize_name(p)) for p in staged.packages)),
            ),
        )
    except RPCError as exc:
        raise FarmRequestError(f"the schedule was refused: {exc.message}") from exc
    return {"schedule": schedule_id, "cron": body.cron}


@router.get("/workers")
def list_workers(request: Request) -> list[schemas.WorkerOut]:
    now = dt.datetime.now(tz=dt.UTC)
    with context_of(request).database.session() as session:
        context = {"now": now, "stale": WORKER_STALE}
        return [
            schemas.WorkerOut.model_validate(w, context=context)
            for w in records.list_workers(session)
        ]


@router.get("/totals")
def get_totals(request: Request) -> schemas.Totals:
    with context_of(request).database.session() as session:
        totals = records.totals(session)
    return schemas.Totals(**totals.__dict__)


@router.post("/tokens", status_code=201, responses={401: {}, 403: {}})
def new_token(
    body: schemas.TokenRequest, who: Authenticated, request: Request
) -> schemas.TokenCreated:
    """Create a token (admin only); its secret is in this response and nowhere else."""
    require_admin(who)
    if body.package is not None:
        check_project_name(body.package, "package")
    with context_of(request).database.session() as session:
        issued = create_token(session, name=body.name, package=body.package, admin=body.admin)
        rows = {t.id: t for t in list_tokens(session)}
        return schemas.TokenCreated(
            **schemas.TokenOut.model_validate(rows[issued.id]).model_dump(), token=issued.secret
        )


@router.get("/tokens", responses={401: {}, 403: {}})
def get_tokens(who: Authenticated, request: Request) -> list[schemas.TokenOut]:
    require_admin(who)
    with context_of(request).database.session() as session:
        return [schemas.TokenOut.model_validate(t) for t in list_tokens(session)]


@router.delete("/tokens/{token_id}", responses={401: {}, 403: {}, 404: {}})
def delete_token(token_id: RowId, who: Authenticated, request: Request) -> schemas.TokenOut:
    """Revoke a token: it is refused from now on."""
    require_admin(who)
    with context_of(request).database.session() as session:
        return schemas.TokenOut.model_validate(revoke_token(session, token_id))


@router.get("/health")
def health() -> dict[str, bool]:
    return {"ok": True}
