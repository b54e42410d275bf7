"""API tokens: random bearer tokens stored only as their SHA-256, each scoped to one package
(or ``admin``, every package and the farm's own settings).

A token is ``wyt_`` + 43 URL-safe characters (256 random bits); the database keeps its hash and
its first characters (to recognise it in listings). Hashing with SHA-256 is enough because the
token is random, not a password a person chose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from packaging.utils import canonicalize_name
from sqlalchemy import select
from sqlalchemy.orm import Session

from wheelyard.errors import FarmNotFoundError, FarmRequestError
from wheelyard.farm.db.models import ApiToken, utcnow

TOKEN_PREFIX = "wyt_"
SHOWN_PREFIX = 10


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, kw_only=True)
class IssuedToken:
    """A token as created: ``secret`` is shown once and never stored."""

    id: int
    name: str
    secret: str
    package: str | None
    admin: bool


@dataclass(frozen=True, kw_only=True)
class Principal:
    """Who a request's token speaks for."""

    token_id: int
    name: str
    package: str | None
    admin: bool

    def may_write(self, package: str) -> bool:
        return self.admin or (
            self.package is not None and self.package == canonicalize_name(package)
        )


def create_token(
    session: Session, *, name: str, package: str | None = None, admin: bool = False
) -> IssuedToken:
    """A new token for ``package`` (or an admin token); the secret is only in the return value."""
    if admin == (package is not None):
        raise FarmRequestError(
            "a token is either scoped to one package or admin",
            hint="pass --package NAME, or --admin",
        )
    scope = str(canonicalize_name(package)) if package is not None else None
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[:SHOWN_PREFIX],
        package=scope,
        admin=admin,
    )
    session.add(row)
    session.flush()
    return IssuedToken(id=row.id, name=name, secret=secret, package=scope, admin=admin)


def authenticate(session: Session, secret: str, *, now: dt.datetime | None = None) -> Principal:
    """The principal of a presented token; an unknown or revoked token is refused."""
    if not secret.startswith(TOKEN_PREFIX):
        raise FarmRequestError("not a wheelyard token")
    digest = hash_token(secret)
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        raise FarmRequestError("unknown token")
    if row.revoked_at is not None:
        raise FarmRequestError(f"token {row.name!r} was revoked")
    row.last_used_at = now or utcnow()
    return Principal(token_id=row.id, name=row.name, package=row.package, admin=row.admin)


def revoke_token(session: Session, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise FarmNotFoundError(f"no token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))
