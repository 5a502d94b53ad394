"""Normalize: raw text rows of one capture -> typed weekly_volume rows, rejects, and rows of other partitions.

Every raw row lands in exactly one bucket, decided by the first rule that applies:

=================  ==============================================================================
PARSE_ERROR        wrong number of fields; a number or date that does not parse; an unknown summary type
INVALID_TIER       the tier is none of NMS Tier 1, NMS Tier 2, OTC (in any of FINRA's spellings)
other partition    a valid row of another tier, or (directory and API sources) of another week
WRONG_WEEK         weekStartDate not a Monday / WeekEnding not a Friday, or (a single source_path file)
                   a row of another week than the one requested
INVALID_SYMBOL     after trim and upper-case the symbol must match ``^[A-Z][A-Z0-9.\\-/]{0,19}$``
INVALID_MPID       ATS venue rows need a 4-character alphanumeric MPID
NEGATIVE_VOLUME    shares or trades below zero
ZERO_VOLUME        0 shares and 0 trades
accepted           everything else
=================  ==============================================================================

So raw rows = accepted + rejected + other-partition rows, for every capture.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .calendar import ISO_DATE, week_ending_of
from .layouts import SUMMARY_TYPES
from .sources import row_tier_texts, row_tiers, row_weeks

SYMBOL_PATTERN = r"^[A-Z][A-Z0-9.\-/]{0,19}$"
MPID_PATTERN = r"^[A-Z0-9]{4}$"
_NUMBER = r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$"
_INTEGER = r"^[-+]?\d+(\.0*)?$"
# Where a row came from: both output frames carry them.
_CAPTURE_COLUMNS = ["capture_id", "captured_at", "source_file", "row_number"]


@dataclass
class NormalizeResult:
    accepted: pd.DataFrame
    rejects: pd.DataFrame
    raw_rows: int
    other_rows: int

    @property
    def counts(self) -> dict[str, int]:
        """The row counts a normalize step reports as metrics."""
        return {
            "rows_raw": self.raw_rows,
            "rows_accepted": len(self.accepted),
            "rows_rejected": len(self.rejects),
            "rows_other_partitions": self.other_rows,
        }


class _Verdicts:
    """First-rule-wins bookkeeping of a reason (or ``other``) per row."""

    def __init__(self, index: pd.Index) -> None:
        self.reason = pd.Series(None, index=index, dtype=object)
        self.detail = pd.Series(None, index=index, dtype=object)

    def flag(self, mask: pd.Series, reason: str, detail: Callable[[pd.Series], pd.Series] | str) -> None:
        """Give ``reason`` to the rows of ``mask`` that have none yet; ``detail`` is a text, or a function
        of the flagged rows' mask that builds their texts (only for those rows: most rows are never
        flagged, and building a message for every row cost more than the rules themselves)."""
        mask = mask.fillna(False).astype(bool) & self.reason.isna()
        if not mask.any():
            return
        self.reason[mask] = reason
        self.detail[mask] = detail if isinstance(detail, str) else detail(mask)


def _floats(text: pd.Series) -> pd.Series:
    """Text already checked against :data:`_NUMBER` (or missing) as float64: Arrow's parser in bulk,
    pandas' when Arrow refuses a value (an exponent beyond the float range, which pandas makes inf)."""
    try:
        return text.astype("float64")
    except ValueError:
        return pd.to_numeric(text, errors="coerce")


def _dates(text: pd.Series) -> pd.Series:
    """ISO dates parsed (NaT when not a valid ``YYYY-MM-DD``); a week's rows share a handful of dates, so
    each distinct text is parsed once."""
    distinct = pd.Series(text.unique(), dtype="str")
    good = distinct.str.match(ISO_DATE, na=False)
    parsed = pd.to_datetime(distinct.where(good), format="%Y-%m-%d", errors="coerce")
    return text.map(pd.Series(parsed.to_numpy(), index=distinct.to_numpy())).astype("datetime64[us]")


def _texts(rows: pd.DataFrame, column: str) -> Callable[[pd.Series], pd.Series]:
    """A ``detail`` builder for :meth:`_Verdicts.flag`: ``column`` of the flagged rows, as text."""
    return lambda mask: rows.loc[mask, column].astype(str)


def _none_if_empty(text: pd.Series) -> pd.Series:
    """An empty text as None (a NULL in the table)."""
    return text.where(text.ne(""), None)


RawLines = Callable[[pd.DataFrame], pd.Series]


def normalize(
    raw: pd.DataFrame, week_start: dt.date, tier: str, source_kind: str, raw_lines: RawLines | None = None
) -> NormalizeResult:
    """Classify one capture's raw rows (see the module docstring for the rules, in order).

    ``raw`` may come without its ``raw`` column (the source lines, most of a capture's bytes) when
    ``raw_lines`` is given: only the few rows that need their line (a suspected wrong width, a reject) are
    then looked up, by ``(source_file, row_number)``; ``raw_lines`` gets those two columns of the rows and
    returns their lines, aligned with the rows it was given.
    """
    rows = raw.reset_index(drop=True)
    if "raw" not in rows.columns:
        if raw_lines is None:
            raise ValueError("normalize: the rows have no 'raw' column and no raw_lines lookup was given")
        rows["raw"] = pd.Series(None, index=rows.index, dtype=rows["src_shares"].dtype)  # a text column
    verdict = _Verdicts(rows.index)
    # The rule families run in the module docstring's order: the first rule that flags a row decides it.
    _flag_wrong_width(rows, verdict, raw_lines)
    tiers = _flag_tiers(rows, verdict, tier)
    _flag_weeks(rows, verdict, tiers, week_start, source_kind)
    fields = _flag_fields(rows, verdict)
    ids = _flag_identifiers(rows, verdict, fields.summary)
    _flag_volumes(rows, verdict, fields)

    is_other = verdict.reason == "OTHER"
    rejected = verdict.reason.notna() & ~is_other
    accepted = verdict.reason.isna()
    _fill_raw(rows, rejected, raw_lines)
    partition = {"week_start": week_start, "week_ending": week_ending_of(week_start), "tier": tier}
    return NormalizeResult(
        _accepted_frame(rows, accepted, fields, ids, partition),
        _rejects_frame(rows, rejected, verdict, partition),
        len(rows),
        int(is_other.sum()),
    )


# --- the rules, one family each, in the order they apply ---------------------------------------------------


def _fill_raw(rows: pd.DataFrame, mask: pd.Series, raw_lines: RawLines | None) -> None:
    """Give the rows under ``mask`` that lack their ``raw`` line that line, from ``raw_lines``."""
    need = mask & rows["raw"].isna()
    if raw_lines is not None and need.any():
        rows.loc[need, "raw"] = raw_lines(rows.loc[need, ["source_file", "row_number"]]).to_numpy()


def _flag_wrong_width(rows: pd.DataFrame, verdict: _Verdicts, raw_lines: RawLines | None) -> None:
    """PARSE_ERROR for a line with the wrong number of fields (the reader gave it empty fields)."""
    bad_width = rows["src_shares"].eq("") & rows["src_trades"].eq("") & rows["src_symbol"].eq("")
    if bad_width.any():  # an empty line read as fields; the regex runs on the few candidates only
        _fill_raw(rows, bad_width, raw_lines)
        bad_width[bad_width] = rows.loc[bad_width, "raw"].astype(str).str.count(r"[|,]") > 0
    verdict.flag(
        bad_width,
        "PARSE_ERROR",
        lambda m: "wrong number of fields: '" + _texts(rows, "raw")(m).str.slice(0, 200) + "'",
    )


def _flag_tiers(rows: pd.DataFrame, verdict: _Verdicts, tier: str) -> pd.Series:
    """INVALID_TIER, then OTHER for a valid row of another tier; returns each row's tier."""
    tiers = row_tiers(rows)
    tier_text = row_tier_texts(rows)
    verdict.flag(tiers.isna(), "INVALID_TIER", lambda m: "unknown tier '" + tier_text[m].astype(str) + "'")
    verdict.flag(tiers.notna() & (tiers != tier), "OTHER", "")
    return tiers


def _row_weeks(rows: pd.DataFrame, tiers: pd.Series) -> pd.Series:
    """Each row's week (its Monday, or None), found file by file: the 8-column export takes its week from
    the file name."""
    weeks = pd.Series(None, index=rows.index, dtype=object)
    for (source_file, source_layout), group in rows.groupby(["source_file", "source_layout"], sort=False):
        weeks[group.index] = row_weeks(
            group, str(source_layout), str(source_file).rsplit("/", 1)[-1], tiers[group.index]
        )
    return weeks


def _flag_weeks(
    rows: pd.DataFrame, verdict: _Verdicts, tiers: pd.Series, week_start: dt.date, source_kind: str
) -> None:
    """PARSE_ERROR for a row of no week; WRONG_WEEK for a weekStartDate that is not a Monday or a
    WeekEnding that is not a Friday. A row of another week is WRONG_WEEK when a single file was asked for
    (``path``), else OTHER (it belongs to another capture)."""
    layout = rows["source_layout"]
    weeks = _row_weeks(rows, tiers)
    week_text = pd.Series(
        np.where(layout == "spine", rows["src_week_ending"], rows["src_week_start"]), index=rows.index
    )
    has_week_text = layout.isin(["full", "spine"])
    verdict.flag(
        has_week_text & weeks.isna(), "PARSE_ERROR", lambda m: "unparseable week date '" + week_text[m] + "'"
    )
    verdict.flag(
        weeks.isna(),
        "PARSE_ERROR",
        "cannot tell the week of this row (no date in the file name or lastUpdateDate)",
    )

    given = _dates(week_text)
    not_monday = (layout == "full") & given.notna() & (given.dt.day_of_week != 0)
    verdict.flag(not_monday, "WRONG_WEEK", lambda m: "weekStartDate " + week_text[m] + " is not a Monday")
    not_friday = (layout == "spine") & given.notna() & (given.dt.day_of_week != 4)
    verdict.flag(not_friday, "WRONG_WEEK", lambda m: "WeekEnding " + week_text[m] + " is not a Friday")
    other_week = weeks.notna() & (weeks != week_start)
    if source_kind == "path":
        verdict.flag(
            other_week,
            "WRONG_WEEK",
            lambda m: "row of week " + weeks[m].astype(str) + f", not the requested week {week_start}",
        )
    else:
        verdict.flag(other_week, "OTHER", "")


@dataclass
class _Fields:
    """Each row's typed fields (missing where the field did not parse)."""

    summary: pd.Series  # summaryTypeCode; the layouts without one hold ATS venue rows
    shares: pd.Series  # float64
    trades: pd.Series  # float64 holding whole numbers
    updated: pd.Series  # lastUpdateDate, datetime64


def _flag_fields(rows: pd.DataFrame, verdict: _Verdicts) -> _Fields:
    """PARSE_ERROR for an unknown summaryTypeCode, shares, trades or notional that are not numbers, and a
    lastUpdateDate that is not a date; returns the typed fields."""
    summary = rows["src_summary_type"].where(rows["source_layout"] == "full", "ATS_W_SMBL_FIRM")
    verdict.flag(
        ~summary.isin(SUMMARY_TYPES), "PARSE_ERROR", lambda m: "unknown summaryTypeCode '" + summary[m] + "'"
    )
    shares_ok = rows["src_shares"].str.match(_NUMBER, na=False)
    _flag_not(rows, verdict, ~shares_ok, "src_shares", "shares", "a number")
    trades_ok = rows["src_trades"].str.match(_INTEGER, na=False)
    _flag_not(rows, verdict, ~trades_ok, "src_trades", "trades", "a whole number")
    notional_ok = rows["src_notional"].eq("") | rows["src_notional"].str.match(_NUMBER, na=False)
    _flag_not(rows, verdict, ~notional_ok, "src_notional", "notional", "a number")
    updated = _dates(rows["src_last_update_date"])
    bad_update = rows["src_last_update_date"].ne("") & updated.isna()
    _flag_not(rows, verdict, bad_update, "src_last_update_date", "lastUpdateDate", "a date")
    return _Fields(
        summary,
        _floats(rows["src_shares"].where(shares_ok)),
        _floats(rows["src_trades"].where(trades_ok)),
        updated,
    )


def _flag_not(
    rows: pd.DataFrame, verdict: _Verdicts, bad: pd.Series, column: str, label: str, what: str
) -> None:
    """PARSE_ERROR ``<label> '<text>' is not <what>`` for the ``bad`` rows."""
    verdict.flag(bad, "PARSE_ERROR", lambda m: f"{label} '" + _texts(rows, column)(m) + f"' is not {what}")


@dataclass
class _Identifiers:
    """Each row's symbol and venue identifiers (trimmed), and which summary types need them."""

    symbol: pd.Series  # upper-cased
    mpid: pd.Series  # upper-cased
    participant: pd.Series
    crd: pd.Series
    needs_symbol: pd.Series  # *_W_SMBL* rows
    needs_mpid: pd.Series  # ATS rows per venue
    firm_row: pd.Series  # non-ATS rows per firm


def _flag_identifiers(rows: pd.DataFrame, verdict: _Verdicts, summary: pd.Series) -> _Identifiers:
    """INVALID_SYMBOL, INVALID_MPID (ATS venue rows), and PARSE_ERROR for a non-ATS firm row without a
    firm (neither a participant name nor a CRD number)."""
    ids = _Identifiers(
        symbol=rows["src_symbol"].str.strip().str.upper(),
        mpid=rows["src_mpid"].str.strip().str.upper(),
        participant=rows["src_participant_name"].str.strip(),
        crd=rows["src_firm_crd"].str.strip(),
        needs_symbol=summary.str.contains("_SMBL", na=False),
        needs_mpid=summary.isin(["ATS_W_SMBL_FIRM", "ATS_W_FIRM"]),
        firm_row=summary.isin(["OTC_W_SMBL_FIRM", "OTC_W_FIRM"]),
    )
    bad_symbol = ids.needs_symbol & ~ids.symbol.str.match(SYMBOL_PATTERN, na=False)
    verdict.flag(
        bad_symbol,
        "INVALID_SYMBOL",
        lambda m: "symbol '" + _texts(rows, "src_symbol")(m) + "' does not match " + SYMBOL_PATTERN,
    )
    bad_mpid = ids.needs_mpid & ~ids.mpid.str.match(MPID_PATTERN, na=False)
    verdict.flag(
        bad_mpid,
        "INVALID_MPID",
        lambda m: "ATS MPID '" + _texts(rows, "src_mpid")(m) + "' is not 4 letters or digits",
    )
    no_firm = ids.firm_row & ids.participant.eq("") & ids.crd.eq("")
    verdict.flag(no_firm, "PARSE_ERROR", "non-ATS firm row without a firm")
    return ids


def _flag_volumes(rows: pd.DataFrame, verdict: _Verdicts, fields: _Fields) -> None:
    """NEGATIVE_VOLUME, then ZERO_VOLUME (0 shares and 0 trades)."""
    verdict.flag(
        (fields.shares < 0) | (fields.trades < 0),
        "NEGATIVE_VOLUME",
        lambda m: "shares=" + _texts(rows, "src_shares")(m) + " trades=" + _texts(rows, "src_trades")(m),
    )
    verdict.flag((fields.shares == 0) & (fields.trades == 0), "ZERO_VOLUME", "0 shares and 0 trades")


# --- the output frames: each built from its own rows only (most rows are accepted, few rejected) -----------


def _rejects_frame(
    rows: pd.DataFrame, rejected: pd.Series, verdict: _Verdicts, partition: dict[str, object]
) -> pd.DataFrame:
    """The rejected rows with their reason and the raw line."""
    bad = rows.loc[rejected, [*_CAPTURE_COLUMNS, "raw"]]
    return pd.DataFrame(
        {
            **partition,
            "capture_id": bad["capture_id"],
            "captured_at": bad["captured_at"],
            "source_file": bad["source_file"],
            "row_number": bad["row_number"],
            "reason_code": verdict.reason[rejected],
            "detail": verdict.detail[rejected],
            "raw": bad["raw"],
        }
    ).reset_index(drop=True)


def _accepted_frame(
    rows: pd.DataFrame, accepted: pd.Series, fields: _Fields, ids: _Identifiers, partition: dict[str, object]
) -> pd.DataFrame:
    """The accepted rows as ``weekly_volume`` rows (an empty text becomes None)."""
    good = rows.loc[accepted, [*_CAPTURE_COLUMNS, "src_issue_name", "src_product_type", "src_notional"]]
    summary, symbol, mpid = fields.summary[accepted], ids.symbol[accepted], ids.mpid[accepted]
    participant, crd = ids.participant[accepted], ids.crd[accepted]
    kind, venue, unattributed = _venues(
        summary, mpid, participant, crd, ids.needs_mpid[accepted], ids.firm_row[accepted]
    )
    return pd.DataFrame(
        {
            **partition,
            "summary_type": summary,
            "venue_kind": kind,
            "symbol": symbol.where(ids.needs_symbol[accepted] & symbol.ne(""), None),
            "issue_name": _none_if_empty(good["src_issue_name"]),
            "mpid": _none_if_empty(mpid),
            "firm_crd": _none_if_empty(crd),
            "participant_name": _none_if_empty(participant),
            "venue": venue,
            "product_type": _none_if_empty(good["src_product_type"]),
            "is_unattributed": unattributed,
            "shares": fields.shares[accepted].astype("float64"),
            "trades": fields.trades[accepted].astype("int64"),
            "notional": _floats(good["src_notional"].where(good["src_notional"].ne(""))),
            "last_update_date": fields.updated[accepted].dt.date,
            "capture_id": good["capture_id"],
            "captured_at": good["captured_at"],
            "row_number": good["row_number"],
            "source_file": good["source_file"],
        }
    ).reset_index(drop=True)


def _venues(
    summary: pd.Series,
    mpid: pd.Series,
    participant: pd.Series,
    crd: pd.Series,
    needs_mpid: pd.Series,
    firm_row: pd.Series,
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``venue_kind``, ``venue`` and ``is_unattributed`` of accepted rows: an ATS venue is its MPID, a
    non-ATS firm its participant name (or ``CRD <number>``); FINRA's ``De Minimis Firms`` bucket (or CRD 0)
    is no firm of its own."""
    index = summary.index
    kind = pd.Series(np.where(summary.str.startswith("ATS").to_numpy(), "ATS", "NON_ATS"), index=index)
    unattributed = (
        (kind == "NON_ATS") & firm_row & (participant.str.lower().eq("de minimis firms") | crd.isin(["0"]))
    )
    firm_venue = participant.where(participant.ne(""), "CRD " + crd)
    venue = pd.Series(
        np.where(needs_mpid, mpid, np.where(firm_row, firm_venue, None)), index=index, dtype=object
    )
    return kind, venue, unattributed
