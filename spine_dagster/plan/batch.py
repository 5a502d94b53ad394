"""Batch ids, as spine-core makes them: ``group_{name}_{YYYYMMDDTHHMMSS}_{8 hex}`` (UTC)."""

from __future__ import annotations

import datetime as dt
import uuid


def new_batch_id(prefix: str = "", *, now: dt.datetime | None = None, token: str | None = None) -> str:
    """A new batch id; ``batch_{ts}_{hex}`` without a prefix. ``token`` replaces the random 8 hex digits
    (the runtime uses the run id's first 8, so a run without a batch tag gets a stable id)."""
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    stamp = moment.strftime("%Y%m%dT%H%M%S")
    return f"{prefix or 'batch'}_{stamp}_{token or uuid.uuid4().hex[:8]}"


def group_batch_id(group_name: str, *, now: dt.datetime | None = None, token: str | None = None) -> str:
    """The batch id of one run of a group."""
    return new_batch_id(f"group_{group_name}", now=now, token=token)
