"""Bearer tokens on write requests: who is asking, and may they touch this package."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from wheelyard.errors import FarmForbiddenError, FarmRequestError
from wheelyard.farm.api.context import context_of
from wheelyard.farm.tokens import Principal, authenticate

bearer = HTTPBearer(auto_error=False, description="A wheelyard token (wyt_...)")


def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status_code=401,
            detail="this operation needs a token: Authorization: Bearer wyt_...",
            headers={"WWW-Authenticate": "Bearer"},
        )
    database = context_of(request).database
    try:
        with database.session() as session:
            return authenticate(session, credentials.credentials)
    except FarmRequestError as exc:
        raise HTTPException(
            status_code=401, detail=exc.message, headers={"WWW-Authenticate": "Bearer"}
        ) from exc


Authenticated = Annotated[Principal, Depends(principal)]


def require_package(who: Principal, package: str) -> None:
    if not who.may_write(package):
        scope = "admin" if who.admin else f"package {who.package}"
        raise FarmForbiddenError(f"token {who.name!r} ({scope}) may not write to {package}")


def require_admin(who: Principal) -> None:
    if not who.admin:
        raise FarmForbiddenError(f"token {who.name!r} is not an admin token")
