"""The loopback services as the tests use them: the shared ones (:mod:`loopback.services`), and a skip where the
machine lacks PostgreSQL's server binaries, so that a test says what to install instead of failing."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopback.services import Postgres, S3Endpoint, free_port, kill_group, postgres_bin, wait_for_http, workspace

__all__ = [
    "Postgres",
    "S3Endpoint",
    "free_port",
    "kill_group",
    "skip_without_postgres",
    "wait_for_http",
    "workspace",
]


def skip_without_postgres() -> Path:
    folder = postgres_bin()
    if folder is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) are not installed; run `make system` "
            "(scripts/setup-system.sh installs Debian's postgresql package)"
        )
    return folder
