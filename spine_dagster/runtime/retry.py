"""The one mapping from a spine retry spec to Dagster's RetryPolicy (used by the definitions and by the
runtime, which applies the ``max_delay_seconds`` cap Dagster lacks)."""

from __future__ import annotations

import dagster as dg

from ..spec.models import RetrySpec

_BACKOFF = {"constant": None, "linear": dg.Backoff.LINEAR, "exponential": dg.Backoff.EXPONENTIAL}
_JITTER = {"none": None, "full": dg.Jitter.FULL, "plus_minus": dg.Jitter.PLUS_MINUS}


def retry_policy(retry: RetrySpec | None) -> dg.RetryPolicy | None:
    """``constant`` is Dagster's no-backoff; no policy when there is nothing to retry."""
    if retry is None or retry.max_retries == 0:
        return None
    return dg.RetryPolicy(
        max_retries=retry.max_retries,
        delay=retry.delay_seconds or None,
        backoff=_BACKOFF[retry.backoff],
        jitter=_JITTER[retry.jitter],
    )
