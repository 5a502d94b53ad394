"""Reference data of the generator: tier codes, layouts, defect names, limits, and the ATS venues and
non-ATS firms with their MPIDs, names, operators, weights and trade sizes (``reference/finra-otc.md`` §4).

Constants only (tuples and small lookup dicts); the participant arrays built from them are in
:mod:`.participants`.
"""

from __future__ import annotations

from ..calendar import TIER_IDS
from ..layouts import SUMMARY_TYPES

TIER_CODES = ("T1", "T2", "OTCE")
LAYOUTS = ("full", "ats8")
DEFECTS = (
    "invalid_symbol", "invalid_mpid", "negative_volume", "zero_volume", "parse_error", "invalid_tier",
    "wrong_week", "restatement", "duplicate", "two_tiers", "de_minimis", "monday_holiday",
)  # fmt: skip
#: Reject defects: rows added to one file per layout; the rest of the file stays clean and consistent.
REJECT_DEFECTS = (
    "invalid_symbol", "invalid_mpid", "negative_volume", "zero_volume", "parse_error", "invalid_tier",
    "wrong_week", "duplicate",
)  # fmt: skip
#: Distinct symbols in each tier's universe at scale 1. In a typical week about 2,500/6,500/3,000 of them
#: have ATS rows and 2,600/7,400/6,000 non-ATS rows: about 72k/168k/24k rows of every summary type.
DEFAULT_SYMBOLS_PER_TIER = {"T1": 2700, "T2": 7800, "OTCE": 7000}
DEFAULT_DE_MINIMIS_SHARE = 0.2
MAX_WEEKS = 1100
MAX_SYMBOLS = 200_000

CANONICAL = {code: canon for canon, code in TIER_IDS.items()}  # "T1" -> "NMS_TIER_1" (the calendar's key)
TIER_INDEX = {code: i for i, code in enumerate(TIER_CODES)}  # seeds each tier's random streams
STYPE = {name: i for i, name in enumerate(SUMMARY_TYPES)}  # summaryTypeCode -> the integer rows carry
MICRO = 1_000_000  # share quantities are fixed-point integers: micro-shares (6 decimals)
DE_MINIMIS = "De Minimis Firms"  # the non-ATS bucket of small firms (CRD 0), with the de_minimis defect


# (MPID, ATS name as FINRA prints it after the MPID, operator, weight % (§4.2), average trade size (§4.3)).
# Names marked "real" in the reference are FINRA's; the others are FINRA-style and plausible.
NMS_ATS = (
    ("UBSA", "UBS ATS", "UBS SECURITIES LLC", 13.0, 53),
    ("INCR", "INTELLIGENT CROSS LLC", "INTELLIGENT CROSS LLC", 12.0, 48),
    ("SGMT", "SIGMA X2", "GOLDMAN SACHS & CO. LLC", 12.0, 47),
    ("JPMX", "JPM-X", "J.P. MORGAN SECURITIES LLC", 7.5, 78),
    ("MSPL", "MS POOL (ATS-4)", "MORGAN STANLEY & CO. LLC", 7.3, 266),
    ("MLIX", "INSTINCT X", "BOFA SECURITIES, INC.", 6.0, 68),
    ("EBXL", "LEVEL ATS", "LEVEL ATS", 5.0, 33),
    ("LATS", "THE BARCLAYS ATS", "BARCLAYS CAPITAL INC.", 4.0, 83),
    ("BIDS", "BIDS ATS", "BIDS TRADING L.P.", 2.9, 734),
    ("KCGM", "VIRTU MATCHIT ATS", "VIRTU AMERICAS LLC", 2.9, 70),
    ("MSTX", "MS TRAJECTORY CROSS (ATS-1)", "MORGAN STANLEY & CO. LLC", 2.7, 32),
    ("XSTM", "CROSSSTREAM", "CROSSSTREAM ATS LLC", 2.1, 172),
    ("ITGP", "POSIT", "VIRTU ITG LLC", 1.4, 269),
    ("PURE", "PURESTREAM", "PURESTREAM LLC", 1.3, 30),
    ("JPBX", "JPB-X", "J.P. MORGAN SECURITIES LLC", 1.3, 71),
    ("IATS", "IBKR ATS", "INTERACTIVE BROKERS LLC", 1.3, 61),
    ("MSRP", "MS RETAIL POOL (ATS-6)", "MORGAN STANLEY & CO. LLC", 1.2, 76),
    ("LQNA", "LIQUIDNET NEGOTIATED", "LIQUIDNET, INC.", 0.9, 390),
    ("ICBX", "INSTINET CBX (US)", "INSTINET, LLC", 0.8, 61),
    ("BLKX", "BLOCKCROSS ATS", "BLOOMBERG TRADEBOOK LLC", 0.7, 310),
    ("ONEC", "ONECHRONOS", "OCX GROUP INC.", 0.7, 92),
    ("CGXS", "CITI CROSS", "CITIGROUP GLOBAL MARKETS INC.", 0.6, 69),
    ("BNPX", "BNP PARIBAS CORTEX ATS", "BNP PARIBAS SECURITIES CORP.", 0.5, 56),
    ("CODA", "CODA MARKETS ATS", "CODA MARKETS, INC.", 0.15, 60),
    ("LQNT", "LIQUIDNET H2O", "LIQUIDNET, INC.", 0.15, 100_000),
    ("BLUE", "BLUE OCEAN ATS, LLC", "BLUE OCEAN ATS, LLC", 0.12, 40),
    ("LMNX", "LUMINEX TRADING & ANALYTICS LLC", "LUMINEX TRADING & ANALYTICS LLC", 0.1, 5_000),
    ("STFX", "STIFEL ATS", "STIFEL, NICOLAUS & COMPANY, INCORPORATED", 0.08, 150),
    ("IEOS", "IEOS ATS", "IEOS ATS LLC", 0.06, 90),
    ("ALPX", "ALPHA X ATS", "ALPHA X ATS LLC", 0.05, 80),
    ("BOSS", "BOSS ATS", "BOSS ATS LLC", 0.04, 20),
    ("MOON", "MOON ATS", "MOON ATS LLC", 0.03, 25),
)  # fmt: skip
# Tail venues that enter and exit (about one change a quarter); LMNX starts outside the 31 seen in 2025.
TAIL_VENUES = ("CODA", "LQNT", "BLUE", "LMNX", "STFX", "IEOS", "ALPX", "BOSS", "MOON")
INITIALLY_INACTIVE = ("LMNX",)
OTCE_ATS = (
    ("OTCN", "OTC LINK NQB IDQS", "OTC LINK LLC", 78.0, 8_000),
    ("OTCX", "OTC LINK ECN ATS", "OTC LINK LLC", 16.0, 1_200),
    ("ARCA", "GLOBAL OTC", "ARCHIPELAGO TRADING SERVICES, INC.", 5.0, 240),
    ("SWCL", "INX SECURITIES, LLC", "INX SECURITIES, LLC", 0.3, 7_000),
    ("PPEX", "NORTH CAPITAL PRIVATE SECURITIES CORPORATION", "NORTH CAPITAL PRIVATE SECURITIES CORPORATION", 0.2, 15),
    ("PROS", "TZERO SECURITIES LLC", "TZERO ATS, LLC", 0.15, 60),
    ("ALTS", "LODAS SECURITIES ALTERNATIVE TRADING SYSTEM", "LODAS SECURITIES, LLC", 0.1, 20),
    ("SMKT", "SECURITIZE MARKETS ATS", "SECURITIZE MARKETS, LLC", 0.1, 30),
    ("STEN", "STARTENGINE SECONDARY", "STARTENGINE PRIMARY, LLC", 0.1, 25),
    ("VIAT", "VARIABLE INVESTMENT ADVISORS, INC.", "VARIABLE INVESTMENT ADVISORS, INC.", 0.05, 10),
)  # fmt: skip
OTCE_REGULAR_VENUES = ("OTCN", "OTCX", "ARCA")
# Venues that trade only their own issues (PPEX: ARRIVED HOMES-style interests; SWCL: INX tokens...).
OTCE_EXCLUSIVE_VENUES = ("PPEX", "SWCL", "PROS", "ALTS", "SMKT", "STEN", "VIAT")

# Non-ATS firms: (legal name, NMS weight %, OTCE weight %, average trade size, retail wholesaler?).
FIRMS = (
    ("CITADEL SECURITIES LLC", 28.0, 30.0, 110, True),
    ("VIRTU AMERICAS LLC", 14.0, 22.0, 120, True),
    ("JANE STREET CAPITAL, LLC", 9.0, 4.0, 150, True),
    ("G1 EXECUTION SERVICES, LLC", 6.0, 6.0, 90, True),
    ("UBS SECURITIES LLC", 4.5, 0.5, 250, False),
    ("TWO SIGMA SECURITIES, LLC", 4.0, 1.0, 130, True),
    ("GOLDMAN SACHS & CO. LLC", 4.0, 0.5, 400, False),
    ("MORGAN STANLEY & CO. LLC", 3.5, 0.5, 350, False),
    ("J.P. MORGAN SECURITIES LLC", 2.0, 0.3, 380, False),
    ("HRT FINANCIAL LP", 1.8, 1.0, 100, True),
    ("BOFA SECURITIES, INC.", 1.6, 0.3, 420, False),
    ("INTERACTIVE BROKERS LLC", 1.3, 2.0, 140, True),
    ("SUSQUEHANNA SECURITIES, LLC", 1.2, 0.5, 160, False),
    ("STONEX FINANCIAL INC.", 0.6, 7.0, 600, False),
    ("CITIGROUP GLOBAL MARKETS INC.", 1.0, 0.3, 450, False),
    ("NATIONAL FINANCIAL SERVICES LLC", 0.9, 1.5, 120, True),
    ("WELLS FARGO SECURITIES, LLC", 0.8, 0.2, 500, False),
    ("BARCLAYS CAPITAL INC.", 0.7, 0.1, 480, False),
    ("RBC CAPITAL MARKETS, LLC", 0.7, 0.1, 520, False),
    ("JEFFERIES LLC", 0.7, 0.4, 600, False),
    ("INSTINET, LLC", 0.6, 0.1, 300, False),
    ("CHARLES SCHWAB & CO., INC.", 0.5, 1.0, 110, True),
    ("GLOBAL EXECUTION BROKERS, LP", 0.5, 3.0, 900, False),
    ("CANTOR FITZGERALD & CO.", 0.45, 0.6, 700, False),
    ("STIFEL, NICOLAUS & COMPANY, INCORPORATED", 0.4, 0.2, 650, False),
    ("RAYMOND JAMES & ASSOCIATES, INC.", 0.4, 0.2, 600, False),
    ("PIPER SANDLER & CO.", 0.35, 0.1, 700, False),
    ("DEUTSCHE BANK SECURITIES INC.", 0.35, 0.2, 550, False),
    ("BNP PARIBAS SECURITIES CORP.", 0.3, 0.1, 500, False),
    ("NOMURA SECURITIES INTERNATIONAL, INC.", 0.3, 0.2, 500, False),
    ("MIZUHO SECURITIES USA LLC", 0.25, 0.1, 520, False),
    ("TD SECURITIES (USA) LLC", 0.25, 0.2, 480, False),
    ("B. RILEY SECURITIES, INC.", 0.25, 0.8, 800, False),
    ("GTS SECURITIES LLC", 0.3, 0.1, 200, False),
    ("XTX MARKETS LLC", 0.3, 0.05, 180, False),
    ("FLOW TRADERS U.S. LLC", 0.25, 0.05, 400, False),
    ("WEDBUSH SECURITIES INC.", 0.2, 0.6, 300, False),
    ("OPPENHEIMER & CO. INC.", 0.2, 0.3, 450, False),
    ("BTIG, LLC", 0.2, 0.1, 600, False),
    ("KEYBANC CAPITAL MARKETS INC.", 0.15, 0.05, 650, False),
    ("NEEDHAM & COMPANY, LLC", 0.15, 0.1, 700, False),
    ("D.A. DAVIDSON & CO.", 0.12, 0.2, 500, False),
    ("JANNEY MONTGOMERY SCOTT LLC", 0.12, 0.1, 450, False),
    ("ROBERT W. BAIRD & CO. INCORPORATED", 0.12, 0.1, 520, False),
    ("CANACCORD GENUITY LLC", 0.12, 1.2, 900, False),
    ("WILLIAM BLAIR & COMPANY, L.L.C.", 0.1, 0.05, 700, False),
    ("CRAIG-HALLUM CAPITAL GROUP LLC", 0.08, 0.2, 800, False),
    ("ROTH CAPITAL PARTNERS, LLC", 0.08, 0.3, 800, False),
    ("H.C. WAINWRIGHT & CO., LLC", 0.07, 0.4, 900, False),
    ("A.G.P./ALLIANCE GLOBAL PARTNERS", 0.07, 0.4, 850, False),
    ("ALPINE SECURITIES CORPORATION", 0.03, 1.5, 2_000, False),
    ("GLENDALE SECURITIES, INC.", 0.03, 1.2, 2_500, False),
    ("NORTHERN TRUST SECURITIES, INC.", 0.06, 0.05, 600, False),
    ("MERRILL LYNCH, PIERCE, FENNER & SMITH INCORPORATED", 0.3, 0.4, 200, True),
    ("LADENBURG THALMANN & CO. INC.", 0.05, 0.3, 900, False),
    ("MAXIM GROUP LLC", 0.05, 0.4, 1_000, False),
)  # fmt: skip
SMALL_FIRM_WORDS = (
    "ARBOR", "BEACON", "CEDAR", "DRAKE", "EMBER", "FALCON", "GRANITE", "HARBOR", "IRONWOOD", "JUNIPER",
    "KESTREL", "LANTERN", "MERIDIAN", "NORTHGATE", "OAKMONT", "PINNACLE", "QUARRY", "RIDGELINE", "SUMMIT",
    "TIDEWATER", "UNION SQUARE", "VANTAGE", "WESTBROOK", "YARROW", "ZENITH",
)  # fmt: skip
SMALL_FIRM_FORMS = (
    "CAPITAL MARKETS, LLC", "SECURITIES, INC.", "TRADING LLC", "FINANCIAL SERVICES, INC.",
    "EXECUTION SERVICES, L.P.", "BROKERAGE CORP.",
)  # fmt: skip
N_SMALL_FIRMS = 50
KNOWN_CRDS = {"CITADEL SECURITIES LLC": "116797"}  # from the reference (plausible, unverified)
