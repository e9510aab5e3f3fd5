"""Reviewer accounts: who may record decisions in the review app.

Passwords are hashed with Argon2id (``argon2-cffi``, the Password Hashing Competition's
winner, with its library defaults); only the hash is kept, in the store's ``reviewers``
table, so the accounts travel with the decisions they sign. ``extractor review add-user``
writes them.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from extractor.store import Store, now

ACCOUNTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS reviewers (
    name VARCHAR PRIMARY KEY,
    password_hash VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL
);
"""
NAME = re.compile(r"^[\w .'-]{1,100}$")
MIN_PASSWORD = 12
HASHER = PasswordHasher()  # argon2-cffi's defaults (RFC 9106 low-memory profile); tests swap in a cheaper one
_dummies: dict[int, str] = {}


def _dummy_hash() -> str:
    """Verified against when the name is unknown, so a wrong name takes as long as a wrong password."""
    key = id(HASHER)
    if key not in _dummies:
        _dummies[key] = HASHER.hash("not a password of anyone")
    return _dummies[key]


class AccountError(ValueError):
    """A name or password that cannot make an account; the message says what to change."""


def ensure_table(store: Store) -> None:
    store.con.execute(ACCOUNTS_SCHEMA)


def has_accounts(store: Store) -> bool:
    """True when at least one reviewer account exists."""
    query = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'reviewers'"
    if not store.con.execute(query).fetchone()[0]:
        return False
    return bool(store.con.execute("SELECT count(*) FROM reviewers").fetchone()[0])


def add_user(store: Store, name: str, password: str) -> bool:
    """Create the account ``name``, or set its password; True when it is new."""
    if not NAME.match(name):
        raise AccountError("a reviewer name is 1-100 letters, digits, spaces, dots, apostrophes or hyphens")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
    ensure_table(store)
    new = not store.con.execute("SELECT count(*) FROM reviewers WHERE name = ?", [name]).fetchone()[0]
    store.con.execute(
        "INSERT OR REPLACE INTO reviewers (name, password_hash, created_at) VALUES (?, ?, ?)",
        [name, HASHER.hash(password), now()],
    )
    return new


def verify(store: Store, name: str, password: str) -> bool:
    """Whether ``password`` is ``name``'s; unknown names and wrong passwords look the same."""
    row = None
    if has_accounts(store):
        row = store.con.execute("SELECT password_hash FROM reviewers WHERE name = ?", [name]).fetchone()
    try:
        return HASHER.verify(row[0] if row else _dummy_hash(), password) and row is not None
    except (VerificationError, InvalidHashError):
        return False
