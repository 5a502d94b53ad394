"""Tickers and issue names: FINRA-style symbols (NMS 1-5 letters with share classes, OTCE 4-5 letters) and
free-text ``issueName`` values with the punctuation real files have.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

_LETTERS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), dtype=object)
_LETTER_WEIGHTS = np.array(
    [8, 5, 7, 4, 4, 4, 4, 3, 4, 1.5, 2, 4, 6, 4, 3, 5, 1, 4, 7, 5, 2, 3, 2, 1.5, 1, 1], dtype=float
)
_SYLLABLES = (
    "ab", "ac", "ad", "al", "am", "an", "ar", "as", "at", "av", "ba", "be", "bi", "bo", "bra", "bri", "ca",
    "ce", "ci", "co", "cor", "cra", "da", "de", "di", "do", "dra", "el", "en", "er", "ex", "fa", "fe", "fi",
    "fo", "fra", "ga", "ge", "gi", "go", "gra", "ha", "he", "hi", "ho", "hy", "id", "il", "in", "ir", "is",
    "ja", "je", "jo", "ka", "ke", "ki", "ko", "la", "le", "li", "lo", "lu", "ma", "me", "mi", "mo", "mu",
    "na", "ne", "ni", "no", "nu", "ob", "om", "on", "or", "os", "pa", "pe", "pi", "po", "pra", "pro", "qua",
    "qui", "ra", "re", "ri", "ro", "ru", "sa", "se", "si", "so", "su", "sy", "ta", "te", "ti", "to", "tra",
    "tri", "ul", "um", "un", "ur", "va", "ve", "vi", "vo", "wa", "we", "wi", "xa", "xe", "ya", "yo", "za",
    "ze", "zo",
)  # fmt: skip
_ENDINGS = (
    "n",
    "x",
    "r",
    "s",
    "l",
    "on",
    "ex",
    "ia",
    "us",
    "ar",
    "ent",
    "ix",
    "or",
    "ine",
    "al",
    "um",
    "is",
    "ad",
)
_WORDS = (
    "Technologies", "Therapeutics", "Holdings", "Systems", "Bancorp", "Energy", "Pharmaceuticals", "Group",
    "Networks", "Brands", "Industries", "Financial", "Biosciences", "Semiconductor", "Resources", "Realty",
    "Medical", "Software", "Logistics", "Foods", "Motors", "Minerals", "Communications", "Capital",
)  # fmt: skip
_SPONSORS = (
    "iShares", "Vanguard", "SPDR", "Invesco", "Global X", "ProShares", "Direxion Daily", "VanEck",
    "First Trust", "Schwab",
)  # fmt: skip
_THEMES = (
    "S&P 500", "MSCI Emerging Markets", "Core U.S. Aggregate Bond", "Russell 2000", "Semiconductor",
    "Gold Trust", "20+ Year Treasury Bond", "iBoxx $ High Yield Corporate Bond", "Clean Energy",
    "Dividend Appreciation", "Nasdaq-100", "Regional Banks", "Biotech", "Uranium", "Bitcoin Strategy",
)  # fmt: skip
_MODIFIERS = (
    "",
    " Equal Weight",
    " 2X Leveraged",
    " Ultra-Short",
    " Covered Call",
    " Momentum",
    " Value",
    " Growth",
)
_COUNTRIES = (
    "Hong Kong", "Japan", "Germany", "United Kingdom", "France", "Switzerland", "Netherlands",
    "Cayman Islands", "China", "Australia", "Canada", "South Africa", "Brazil", "Mexico", "Korea", "Taiwan",
    "Sweden", "Italy", "Spain", "India",
)  # fmt: skip
_SYL_BY_LETTER = {c: tuple(s for s in _SYLLABLES if s[0] == c.lower()) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _stem(rng: np.random.Generator, first: str) -> str:
    """A made-up company name stem starting (when it can) with the ticker's first letter."""
    head = _SYL_BY_LETTER.get(first) or _SYLLABLES
    parts = [_pick(rng, head)] + [_pick(rng, _SYLLABLES) for _ in range(int(rng.integers(0, 2)))]
    return ("".join(parts) + _pick(rng, _ENDINGS)).capitalize()


def _rate(rng: np.random.Generator) -> str:
    """A coupon or dividend rate as printed (``5.375``, ``7``)."""
    return f"{rng.integers(3, 9)}.{rng.choice([0, 125, 25, 375, 5, 625, 75, 875])}".rstrip("0").rstrip(".")


def _date_text(rng: np.random.Generator) -> str:
    """A future date as issue names print it (``MM/DD/YYYY``)."""
    return f"{rng.integers(1, 13):02d}/{rng.integers(1, 29):02d}/{rng.integers(2026, 2061)}"


_Template = Callable[[np.random.Generator, str, str], str]  # (rng, stem, word) -> issueName

# NMS issue names by kind, each with its probability. A template draws from ``rng`` only when chosen.
_NMS_NAMES: tuple[tuple[float, _Template], ...] = (
    (0.30, lambda rng, stem, word: f"{stem} {word}, Inc. Common Stock"),
    (0.14, lambda rng, stem, word: f"{stem} {word} Corporation Common Stock"),
    (0.05, lambda rng, stem, word: f"{stem} Corp. Class A Common Stock"),
    (0.03, lambda rng, stem, word: f"{stem} & {_stem(rng, _pick(rng, _LETTERS))} Co. Common Stock"),
    (0.03, lambda rng, stem, word: f"{stem}'s {word}, Inc. Common Stock"),
    (0.05, lambda rng, stem, word: (
        f"{stem} {word} Ltd. American Depositary Shares (each representing {rng.integers(2, 11)} Ordinary Shares)"
    )),
    (0.18, lambda rng, stem, word: f"{_pick(rng, _SPONSORS)} {_pick(rng, _THEMES)}{_pick(rng, _MODIFIERS)} ETF"),
    (0.035, lambda rng, stem, word: (
        f"{stem} {word} Depositary Shares, each representing a 1/{rng.choice([40, 100, 1000])}th interest in a "
        f"share of {_rate(rng)}% Series {_pick(rng, 'ABCDEFG')} Cumulative Redeemable Perpetual Preferred "
        f"Stock, $0.01 par value"
    )),
    (0.025, lambda rng, stem, word: (
        f"{stem} Acquisition Corp. Units, each consisting of one Class A ordinary share and one-half of one "
        f"redeemable warrant"
    )),
    (0.03, lambda rng, stem, word: f"{stem} {word}, Inc. {_rate(rng)}% Senior Notes due {rng.integers(2027, 2065)}"),
    (0.04, lambda rng, stem, word: f"{stem} {word} Trust Shares of Beneficial Interest"),
    (0.02, lambda rng, stem, word: f"{stem} {word} Inc. Warrants (exp. {_date_text(rng)})"),
    (0.02, lambda rng, stem, word: f"{stem} Municipal Income Fund #{rng.integers(2, 9)} Common Shares"),
    (0.05, lambda rng, stem, word: f"{stem} {word} Inc. Class B Common Stock"),
)  # fmt: skip
_NMS_ETF = 6  # the kind of the ETF names (listed CTS more often)

# Names of regular OTCE issues without an ADR (``Y``) or foreign (``F``) suffix, as above.
_OTCE_NAMES: tuple[tuple[float, _Template], ...] = (
    (0.5, lambda rng, stem, word: f"{stem} {word} Inc Common Stock"),
    (0.18, lambda rng, stem, word: f"{stem} {word}, Inc. Common Stock"),
    (0.06, lambda rng, stem, word: (
        f"{stem.upper()} CAP TR {_pick(rng, ('I', 'II', 'III', 'IV'))} CONV TR {_rate(rng)}% PFD SECS "
        f"{_date_text(rng)}"
    )),
    (0.12, lambda rng, stem, word: f"{stem} {word} Corp Common Stock $0.001 Par Value"),
    (0.08, lambda rng, stem, word: f"{stem} & {_stem(rng, _pick(rng, _LETTERS))} Holdings, Inc. Common Stock"),
    (0.06, lambda rng, stem, word: f"{stem} {word} Inc Warrants (exp. {_date_text(rng)})"),
)  # fmt: skip


def _name_of_kind(
    rng: np.random.Generator, names: tuple[tuple[float, _Template], ...], stem: str, word: str
) -> tuple[int, str]:
    """(kind, issueName): a kind drawn by its probability, then its template."""
    kind = int(rng.choice(len(names), p=[p for p, _ in names]))
    return kind, names[kind][1](rng, stem, word)


def nms_issue(rng: np.random.Generator, symbol: str) -> tuple[str, str, bool]:
    """(issueName, productTypeCode, is_etf) for an NMS symbol: FINRA-style free text with punctuation."""
    stem = _stem(rng, symbol[0])
    word = _pick(rng, _WORDS)
    if "." in symbol:
        return f"{stem.upper()} {word.upper()} Class {symbol[-1]}", "CTS", False
    kind, name = _name_of_kind(rng, _NMS_NAMES, stem, word)
    etf = kind == _NMS_ETF
    product = "CTS" if (etf and rng.random() < 0.8) or (not etf and rng.random() < 0.45) else "UTP"
    return name[:201], product, etf


def otce_issue(rng: np.random.Generator, symbol: str, klass: int) -> str:
    """issueName for an OTCE symbol; ``klass`` is 0 (regular) or 1 + the index of its exclusive venue."""
    stem = _stem(rng, symbol[0])
    word = _pick(rng, _WORDS)
    if klass == 1:  # PPEX
        return f"ARRIVED HOMES {rng.integers(2, 9)} LLC MEMBERSHIP INT SER {_stem(rng, _pick(rng, _LETTERS)).upper()}"
    if klass == 2:  # SWCL
        return f"{stem.upper()} LTD {stem.upper()} TOKENS Other"
    if klass > 2:
        return f"{stem} {word} LLC Series {_pick(rng, 'ABCDEF')} #{rng.integers(1, 40)} Membership Units"
    if len(symbol) == 5 and symbol[-1] == "Y":
        if rng.random() < 0.5:
            return f"{stem} {word} Ltd Unsponsored ADR ({_pick(rng, _COUNTRIES)})"
        return f"{stem} {word}, Ltd. Sponsored American Depository Receipt ({_pick(rng, _COUNTRIES)})"
    if len(symbol) == 5 and symbol[-1] == "F":
        if rng.random() < 0.5:
            return f"{stem.upper()} {word.upper()} LTD ORD"
        return f"{stem} {word} Ltd Ordinary Shares ({_pick(rng, _COUNTRIES)})"
    return _name_of_kind(rng, _OTCE_NAMES, stem, word)[1]


def draw_tickers(rng: np.random.Generator, n: int, otce: bool, exclude: set[str]) -> list[str]:
    """``n`` distinct tickers: NMS 1-5 letters (some ``.A``/``.B`` classes), OTCE 4 letters or 5 with F/Y..."""
    out: dict[str, None] = {}
    probs = _LETTER_WEIGHTS / _LETTER_WEIGHTS.sum()
    while len(out) < n:
        m = max(64, 2 * (n - len(out)))
        letters = rng.choice(_LETTERS, p=probs, size=(m, 5))
        if otce:
            five = rng.random(m) < 0.45
            fifth = rng.choice(
                np.array(list("FYQEBLZ"), dtype=object), p=[0.45, 0.33, 0.05, 0.03, 0.05, 0.05, 0.04], size=m
            )
            cands = [
                "".join(row[:4]) + (f if v else "") for row, v, f in zip(letters, five, fifth, strict=True)
            ]
        else:
            lengths = rng.choice([1, 2, 3, 4, 5], p=[0.01, 0.07, 0.37, 0.52, 0.03], size=m)
            klass = rng.random(m) < 0.025
            cls_letter = rng.choice(np.array(["A", "B"], dtype=object), p=[0.45, 0.55], size=m)
            cands = []
            for row, length, k, c in zip(letters, lengths, klass, cls_letter, strict=True):
                base = "".join(row[: min(int(length), 4) if k else int(length)])
                cands.append(f"{base}.{c}" if k else base)
        for c in cands:
            if c not in exclude and c not in out:
                out[c] = None
                if len(out) == n:
                    break
    return list(out)
