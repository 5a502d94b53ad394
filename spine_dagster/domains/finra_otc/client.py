"""A small client for FINRA's Query API: the OTC Transparency ``weeklySummary`` data set.

Endpoint: ``POST {base_url}/data/group/otcMarket/name/weeklySummary`` (``base_url`` defaults to
``https://api.finra.org``) with a JSON body naming the ``fields``, EQUAL ``compareFilters`` on the two
partition fields ``weekStartDate`` and ``tierIdentifier``, and ``limit``/``offset`` for paging.

FINRA's limits and conventions this client follows:

* at most 5,000 rows per synchronous request (``Record-Max-Limit``) and offsets up to 500,000; one
  partition (week x tier) is up to about 34 pages;
* paging headers ``Record-Total``, ``Record-Offset`` and ``Record-Limit``; the client reads pages until
  ``Record-Total`` rows are in hand, or, when that header is missing, until a page comes back short;
* an empty result is HTTP 204 with an empty body;
* the body is JSON only with ``Accept: application/json`` (CSV otherwise);
* ``otcMarket`` data sets answer anonymously; a token, when given, is sent as ``Authorization: Bearer``
  and never appears in log lines or error messages;
* about 1,200 requests per minute per IP: HTTP 429 is retried, honouring ``Retry-After`` (seconds).

Network errors, timeouts, 429 and 5xx are retried with capped exponential backoff; when the retries run
out the client raises :class:`FinraApiTransientError` (a retryable :class:`~spine_dagster.errors.StepRunError`).
Any other non-2xx answer (400 bad request, 401/403 auth, 404...) raises :class:`FinraApiPermanentError` at
once (a :class:`~spine_dagster.errors.BadConfigError`: retrying cannot help).

Rows come back as text, keyed by :data:`~spine_dagster.domains.finra_otc.layouts.FULL_COLUMNS`: numbers keep
every digit FINRA sent (``1.4785138976572317E10`` becomes ``14785138976.572317``, ``20114433.905343`` stays
as is), and fields FINRA left out become ``""``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from spine_dagster.domains.finra_otc.calendar import TIER_IDS, parse_tier
from spine_dagster.domains.finra_otc.layouts import FULL_COLUMNS
from spine_dagster.errors import BadConfigError, StepRunError

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_PAGE_SIZE",
    "WEEKLY_SUMMARY_PATH",
    "FinraApiError",
    "FinraApiPermanentError",
    "FinraApiTransientError",
    "FinraOtcClient",
    "records_to_text_rows",
    "text_value",
]

DEFAULT_BASE_URL = "https://api.finra.org"
WEEKLY_SUMMARY_PATH = "/data/group/otcMarket/name/weeklySummary"
MAX_PAGE_SIZE = 5000
MAX_RETRY_AFTER_SECONDS = 300.0  # a Retry-After longer than this is clamped (a step has its own timeout)
REQUEST_ID_HEADER = "FINRA-api-request-id"
_BODY_EXCERPT_CHARS = 500

log = logging.getLogger(__name__)


class FinraApiError(StepRunError):
    """The FINRA API did not give us the rows. Carries what identifies the failed request.

    ``status`` is the HTTP status (None for a network error or timeout), ``path`` the URL path,
    ``request_id`` FINRA's ``FINRA-api-request-id`` header (None when absent), ``body`` the start of the
    response text, and ``attempts`` how many requests were made for the failing page.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        path: str = WEEKLY_SUMMARY_PATH,
        request_id: str | None = None,
        body: str = "",
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.path = path
        self.request_id = request_id
        self.body = body
        self.attempts = attempts


class FinraApiTransientError(FinraApiError):
    """Network errors, timeouts, 429 or 5xx outlasted every retry (retryable: a later run may succeed)."""


class FinraApiPermanentError(FinraApiError, BadConfigError):
    """FINRA refused the request (400, 401, 403, 404...) or answered with something unreadable.

    Not retryable (``retryable`` is False): the request, the token or the endpoint is wrong.
    """


def text_value(value: object) -> str:
    """One JSON value as text, without losing digits.

    ``None`` -> ``""``; ints as ints; floats and decimals in plain (non-exponent) notation with exactly
    the digits of the shortest round-tripping form (``repr``), so ``float(text) == value``; booleans as
    ``true``/``false``; anything else nested as compact JSON.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def records_to_text_rows(
    records: Iterable[Mapping[str, Any]], columns: Iterable[str] = FULL_COLUMNS
) -> list[dict[str, str]]:
    """API records as text rows keyed by ``columns`` (in that order); absent fields become ``""``."""
    names = tuple(columns)
    return [{name: text_value(record.get(name)) for name in names} for record in records]


def _finra_tier_id(tier: str) -> str:
    canonical = parse_tier(tier)
    if canonical is None:
        raise BadConfigError(f"unknown FINRA OTC tier {tier!r}; expected one of {', '.join(TIER_IDS)}")
    return TIER_IDS[canonical]


def _int_header(response: httpx.Response, name: str) -> int | None:
    raw = response.headers.get(name)
    if raw is None:
        return None
    try:
        return int(raw.strip())
    except ValueError:
        return None


def _retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds (the delta-seconds form only; an HTTP date is ignored)."""
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        seconds = float(raw.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


class FinraOtcClient:
    """Reads one ``weeklySummary`` partition (week x tier) from FINRA's Query API.

    ``transport`` replaces the network (tests pass an ``httpx.MockTransport``); ``sleep`` replaces
    :func:`time.sleep` between retries. ``max_retries`` is the number of retries per page, so a page is
    requested at most ``max_retries + 1`` times; the n-th retry waits ``backoff_seconds * 2**(n-1)``
    seconds, at most ``max_backoff_seconds`` (a 429's ``Retry-After`` takes precedence, up to 5 minutes).
    """

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        page_size: int = MAX_PAGE_SIZE,
        max_retries: int = 5,
        backoff_seconds: float = 1.0,
        max_backoff_seconds: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        token: str | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, got {max_retries}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.page_size = page_size
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self._transport = transport
        self._sleep = sleep
        self._token = token or None

    def __repr__(self) -> str:  # never shows the token
        return f"FinraOtcClient(base_url={self.base_url!r}, page_size={self.page_size})"

    def fetch_week(self, week_start: dt.date, tier: str) -> list[dict[str, str]]:
        """Every ``weeklySummary`` row of one week and tier, as text rows keyed by ``FULL_COLUMNS``.

        ``week_start`` is the week's Monday (FINRA's ``weekStartDate``); ``tier`` is ``NMS_TIER_1``,
        ``NMS_TIER_2`` or ``OTC`` (FINRA's ``T1``/``T2``/``OTCE`` are accepted too). Rows keep the API's
        order; a week FINRA has no data for gives ``[]``.
        """
        import httpx

        if isinstance(week_start, dt.datetime) or not isinstance(week_start, dt.date):
            raise BadConfigError(f"week_start must be a date, got {week_start!r}")
        if week_start.weekday() != 0:
            raise BadConfigError(f"week_start must be a Monday (FINRA's weekStartDate), got {week_start}")
        tier_id = _finra_tier_id(tier)
        body: dict[str, Any] = {
            "fields": list(FULL_COLUMNS),
            "compareFilters": [
                {"compareType": "EQUAL", "fieldName": "weekStartDate", "fieldValue": week_start.isoformat()},
                {"compareType": "EQUAL", "fieldName": "tierIdentifier", "fieldValue": tier_id},
            ],
            "limit": self.page_size,
            "offset": 0,
        }
        headers = {"Accept": "application/json", "User-Agent": "spine-dagster"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"

        rows: list[dict[str, str]] = []
        expected_total: int | None = None
        with httpx.Client(
            base_url=self.base_url,
            transport=self._transport,
            timeout=httpx.Timeout(self.timeout),
            headers=headers,
            follow_redirects=False,
        ) as http:
            while True:
                body["offset"] = len(rows)
                response = self._post(http, body)
                if response.status_code == 204:
                    break
                page = self._records(response)
                total = _int_header(response, "Record-Total")
                if expected_total is not None and total is not None and total != expected_total:
                    raise self._transient(
                        f"Record-Total changed from {expected_total} to {total} while paging "
                        f"{week_start} {tier_id} (FINRA republished the partition); read it again",
                        response,
                    )
                expected_total = total if total is not None else expected_total
                rows.extend(records_to_text_rows(page))
                if not page:
                    break
                if expected_total is not None:
                    if len(rows) >= expected_total:
                        break
                else:
                    limit = _int_header(response, "Record-Limit") or self.page_size
                    if len(page) < min(limit, self.page_size):
                        break
        if expected_total is not None and len(rows) < expected_total:
            raise FinraApiTransientError(
                f"FINRA API POST {WEEKLY_SUMMARY_PATH}: read {len(rows)} of Record-Total {expected_total} "
                f"rows for {week_start} {tier_id} (a page came back empty early); read it again",
            )
        log.info("FINRA weeklySummary %s %s: %d rows", week_start, tier_id, len(rows))
        return rows

    # -- one page, with retries ------------------------------------------------------------------------

    def _post(self, http: httpx.Client, body: Mapping[str, Any]) -> httpx.Response:
        import httpx

        attempts = 0
        while True:
            attempts += 1
            delay: float | None = None
            try:
                response = http.post(WEEKLY_SUMMARY_PATH, json=body)
            except httpx.UnsupportedProtocol as exc:
                raise FinraApiPermanentError(
                    self._redact(
                        f"FINRA API POST {WEEKLY_SUMMARY_PATH}: bad base URL {self.base_url!r}: {exc}"
                    ),
                    attempts=attempts,
                ) from exc
            except httpx.TransportError as exc:  # connect/read/write errors, timeouts, protocol errors
                if attempts > self.max_retries:
                    raise FinraApiTransientError(
                        self._redact(
                            f"FINRA API POST {WEEKLY_SUMMARY_PATH} failed after {attempts} attempts "
                            f"(offset {body['offset']}): {type(exc).__name__}: {exc}"
                        ),
                        attempts=attempts,
                    ) from exc
                reason = f"{type(exc).__name__}: {exc}"
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return response
                if status != 429 and status < 500:
                    raise self._failure(FinraApiPermanentError, response, attempts)
                if attempts > self.max_retries:
                    raise self._failure(FinraApiTransientError, response, attempts)
                reason = f"HTTP {status}"
                if status == 429:
                    delay = _retry_after_seconds(response)
            if delay is None:
                delay = min(self.backoff_seconds * 2 ** (attempts - 1), self.max_backoff_seconds)
            log.warning(
                "FINRA API %s at offset %s (attempt %d of %d); retrying in %.1f s",
                self._redact(reason),
                body["offset"],
                attempts,
                self.max_retries + 1,
                delay,
            )
            self._sleep(delay)

    # -- responses and errors --------------------------------------------------------------------------

    def _records(self, response: httpx.Response) -> list[Mapping[str, Any]]:
        """The page's JSON array of objects; floats parsed as Decimal so no digit is lost."""
        if not response.content.strip():
            return []
        try:
            data = json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            raise self._failure(
                FinraApiPermanentError, response, 1, what=f"answered with a body that is not JSON ({exc})"
            ) from exc
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise self._failure(
                FinraApiPermanentError, response, 1, what="answered with JSON that is not an array of records"
            )
        return data

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def _excerpt(self, response: httpx.Response) -> str:
        try:
            text = response.text
        except Exception:  # undecodable body: the excerpt is only a hint
            text = repr(response.content[:_BODY_EXCERPT_CHARS])
        text = self._redact(" ".join(text.split()))
        return text if len(text) <= _BODY_EXCERPT_CHARS else text[:_BODY_EXCERPT_CHARS] + "..."

    def _failure(
        self, cls: type[FinraApiError], response: httpx.Response, attempts: int, *, what: str = ""
    ) -> FinraApiError:
        request_id = response.headers.get(REQUEST_ID_HEADER)
        body = self._excerpt(response)
        what = what or f"failed with HTTP {response.status_code}"
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        rid = f" [request id {request_id}]" if request_id else ""
        message = f"FINRA API POST {WEEKLY_SUMMARY_PATH} {what}{tries}{rid}"
        if body:
            message += f": {body}"
        return cls(
            self._redact(message),
            status=response.status_code,
            request_id=request_id,
            body=body,
            attempts=attempts,
        )

    def _transient(self, what: str, response: httpx.Response) -> FinraApiError:
        request_id = response.headers.get(REQUEST_ID_HEADER)
        rid = f" [request id {request_id}]" if request_id else ""
        return FinraApiTransientError(
            self._redact(f"FINRA API POST {WEEKLY_SUMMARY_PATH}: {what}{rid}"),
            status=response.status_code,
            request_id=request_id,
        )
