"""A deterministic synthetic Customer.io workspace: people, campaigns, deliveries, metrics, events and orders.

The emulator, the demo, the tests and the benchmarks all draw from this one generator so they agree on what the data
looks like. It is vectorized with numpy and pyarrow compute (1M people / ~10M deliveries in seconds) and fully
determined by ``seed``: the same arguments give identical tables.

The data is built to exercise the hard parts downstream: emails in mixed case with stray whitespace and dotted
gmail addresses, phones in every real-world format (E.164, national with spaces/dashes/parentheses, ``(0)`` trunk,
placeholders, empty), Unicode names, deleted/suppressed people, a cart-abandonment campaign with a first and a second
cart email (some carts recovered after an email), and realistic open/click/conversion rates.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

US_PER_S = 1_000_000
US_PER_MIN = 60 * US_PER_S
US_PER_H = 60 * US_PER_MIN
US_PER_DAY = 24 * US_PER_H

# --------------------------------------------------------------------------- fixed catalogue

# (id, name, type); newsletters (broadcasts) live here too: their id is a newsletter_id.
CAMPAIGNS: list[tuple[int, str, str]] = [
    (1, "Welcome series", "welcome"),
    (2, "Cart abandonment", "cart_abandonment"),
    (3, "Winback 90 days", "winback"),
    (4, "Browse abandonment", "browse_abandonment"),
    (101, "Weekly newsletter", "newsletter"),
    (102, "Spring sale broadcast", "newsletter"),
]
CART_CAMPAIGN_ID = 2
FIRST_CART_ACTION_ID = 21
SECOND_CART_ACTION_ID = 22
# (action id, campaign id, name, delivery type)
ACTIONS: list[tuple[int, int, str, str]] = [
    (11, 1, "Welcome email 1", "email"),
    (12, 1, "Welcome email 2", "email"),
    (FIRST_CART_ACTION_ID, CART_CAMPAIGN_ID, "First cart email", "email"),
    (SECOND_CART_ACTION_ID, CART_CAMPAIGN_ID, "Second cart email", "email"),
    (31, 3, "Winback email", "email"),
    (32, 3, "Winback push", "push"),
    (41, 4, "Browse abandonment email", "email"),
]
# Non-cart sends: (campaign id or None, action id or None, newsletter id or None, delivery type, share)
_OTHER_SENDS: list[tuple[int | None, int | None, int | None, str, float]] = [
    (None, None, 101, "email", 0.50),
    (None, None, 102, "email", 0.15),
    (1, 11, None, "email", 0.05),
    (1, 12, None, "email", 0.05),
    (3, 31, None, "email", 0.09),
    (3, 32, None, "push", 0.06),
    (4, 41, None, "email", 0.10),
]

# Segments the emulator serves; membership rules live in ``segment_mask``.
SEGMENTS: list[tuple[int, str]] = [
    (1, "All people"),
    (2, "Ad consent, reachable"),
    (3, "Cart abandoners"),
    (4, "United States"),
]

_FIRST = [
    ("James", "james"), ("Mary", "mary"), ("John", "john"), ("Patricia", "patricia"), ("Robert", "robert"),
    ("Jennifer", "jennifer"), ("Michael", "michael"), ("Linda", "linda"), ("David", "david"),
    ("Elizabeth", "elizabeth"), ("William", "william"), ("Sarah", "sarah"), ("Daniel", "daniel"),
    ("Emily", "emily"), ("Oliver", "oliver"), ("Sophie", "sophie"), ("Lukas", "lukas"), ("Léa", "lea"),
    ("Chloé", "chloe"), ("José", "jose"), ("Zoë", "zoe"), ("Björn", "bjorn"), ("François", "francois"),
    ("Anaïs", "anais"), ("Jürgen", "jurgen"), ("李", "li"), ("Siobhán", "siobhan"), ("Ava", "ava"),
]  # fmt: skip
_LAST = [
    ("Smith", "smith"), ("Johnson", "johnson"), ("Williams", "williams"), ("Brown", "brown"),
    ("Jones", "jones"), ("Garcia", "garcia"), ("Miller", "miller"), ("Davis", "davis"), ("Taylor", "taylor"),
    ("Wilson", "wilson"), ("Anderson", "anderson"), ("Thomas", "thomas"), ("Moore", "moore"),
    ("Evans", "evans"), ("Müller", "muller"), ("Schröder", "schroder"), ("Dubois", "dubois"),
    ("Lefèvre", "lefevre"), ("García", "garcia"), ("Núñez", "nunez"), ("O'Brien", "obrien"),
    ("王", "wang"), ("Ångström", "angstrom"), ("Nguyen", "nguyen"),
]  # fmt: skip
# Weight ASCII names higher: Unicode names are a realistic minority.
_FIRST_W = [1.0 if f[0].isascii() else 0.25 for f in _FIRST]
_LAST_W = [1.0 if f[0].isascii() else 0.25 for f in _LAST]

_DOMAINS = [
    ("gmail.com", 0.38), ("yahoo.com", 0.12), ("hotmail.com", 0.08), ("outlook.com", 0.09),
    ("icloud.com", 0.08), ("aol.com", 0.03), ("comcast.net", 0.04), ("example.com", 0.06),
    ("googlemail.com", 0.02), ("gmx.de", 0.04), ("orange.fr", 0.03), ("btinternet.com", 0.03),
]  # fmt: skip

# (country, city, state, zip prefix) - US/DE/FR zips are prefix + 2 digits, GB postcodes prefix + " NAA"
_LOCATIONS: dict[str, list[tuple[str, str | None, str]]] = {
    "US": [
        ("New York", "NY", "100"), ("Brooklyn", "NY", "112"), ("Los Angeles", "CA", "900"),
        ("San Francisco", "CA", "941"), ("Chicago", "IL", "606"), ("Houston", "TX", "770"),
        ("Austin", "TX", "787"), ("Phoenix", "AZ", "850"), ("Seattle", "WA", "981"), ("Miami", "FL", "331"),
        ("Denver", "CO", "802"), ("Boston", "MA", "021"), ("Atlanta", "GA", "303"), ("Portland", "OR", "972"),
    ],
    "GB": [("London", None, "SW1A"), ("Manchester", None, "M1"), ("Leeds", None, "LS1"), ("Bristol", None, "BS1")],
    "DE": [("Berlin", "BE", "101"), ("München", "BY", "803"), ("Köln", "NW", "506"), ("Hamburg", "HH", "203")],
    "FR": [("Paris", None, "750"), ("Lyon", None, "690"), ("Marseille", None, "130"), ("Nantes", None, "440")],
}  # fmt: skip
_COUNTRY_SHARE = [("US", 0.85), ("GB", 0.07), ("DE", 0.05), ("FR", 0.03)]
_PLACEHOLDER_PHONES = ["0000000000", "555-555-5555", "N/A", "123456789", "+1 000 000 0000", "unknown"]
_LINKS = [
    "https://shop.example.com/cart",
    "https://shop.example.com/products/new",
    "https://shop.example.com/sale",
    "https://shop.example.com/account",
]
_BOUNCE_REASONS = ["mailbox full", "unknown user", "domain not found", "blocked by recipient server"]
N_PRODUCTS = 500


# The workspace's own tables (the truth the emulators serve and the tests compare against), one (name, type,
# nullable) per column. Declared here, not taken from ``airflow_provider_cio.datasets``: the generator is the
# platform's side and must not move when our landed schema moves (tests/architecture/test_import_rules.py).
_S, _I, _B, _T, _F = "string", "int64", "bool", "timestamp", "float64"
_TABLES: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "people": (
        ("customer_id", _S, False), ("internal_customer_id", _S, True), ("cio_id", _S, True), ("email", _S, True),
        ("phone", _S, True), ("first_name", _S, True), ("last_name", _S, True), ("city", _S, True),
        ("state", _S, True), ("zip", _S, True), ("country", _S, True), ("deleted", _B, False),
        ("suppressed", _B, False), ("ad_consent", _B, False), ("created_at", _T, False), ("updated_at", _T, False),
    ),
    "deliveries": (
        ("delivery_id", _S, False), ("customer_id", _S, True), ("internal_customer_id", _S, True),
        ("campaign_id", _I, True), ("action_id", _I, True), ("newsletter_id", _I, True),
        ("delivery_type", _S, False), ("created_at", _T, False), ("sent_at", _T, True), ("delivered_at", _T, True),
        ("opened_at", _T, True), ("clicked_at", _T, True), ("converted_at", _T, True), ("bounced_at", _T, True),
    ),
    "metrics": (
        ("event_id", _S, False), ("delivery_id", _S, False), ("customer_id", _S, True), ("metric", _S, False),
        ("created_at", _T, False), ("link_url", _S, True), ("reason", _S, True),
    ),
    "events": (
        ("event_id", _S, False), ("customer_id", _S, True), ("name", _S, False), ("product_id", _S, True),
        ("cart_id", _S, True), ("value", _F, True), ("timestamp", _T, False),
    ),
}  # fmt: skip


def _table_schema(name: str) -> pa.Schema:
    """The Arrow schema of one of the workspace's tables (timestamps UTC microseconds)."""
    import pyarrow as pa

    types = {
        _S: pa.string(),
        _I: pa.int64(),
        _B: pa.bool_(),
        _T: pa.timestamp("us", tz="UTC"),
        _F: pa.float64(),
    }
    return pa.schema([pa.field(col, types[kind], nullable=nullable) for col, kind, nullable in _TABLES[name]])


@dataclass(frozen=True)
class SyntheticWorkspace:
    """One generated workspace: people, deliveries (one row with every metric's time), metrics, events, orders."""

    workspace_id: int
    seed: int
    start: date
    days: int
    people: pa.Table
    deliveries: pa.Table
    metrics: pa.Table
    events: pa.Table
    orders: pa.Table
    campaigns: pa.Table
    actions: pa.Table

    @property
    def start_at(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        """Exclusive end of the generated activity window."""
        return self.start_at + timedelta(days=self.days)


# --------------------------------------------------------------------------- vectorized string helpers


def _fixed_width(prefix: str, numbers: np.ndarray, width: int, *, base: int = 10) -> pa.Array:
    """``prefix`` + zero-padded ``numbers`` as an Arrow string array, built straight from a byte matrix."""
    import numpy as np
    import pyarrow as pa

    n = len(numbers)
    head = prefix.encode("ascii")
    row = len(head) + width
    matrix = np.empty((n, row), dtype=np.uint8)
    if head:
        matrix[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    if base == 10:
        # four digits per division through a 10000 x 4 lookup table: 64-bit division is numpy's slow path
        chunks = -(-width // 4)
        digits = np.empty((n, chunks), dtype=np.uint32)
        rest = numbers.astype(np.int64, copy=True)
        lookup = _decimal_lookup()
        for chunk in range(chunks - 1, -1, -1):
            rest, low = np.divmod(rest, 10000)
            digits[:, chunk] = lookup[low]
        matrix[:, len(head) :] = digits.view(np.uint8).reshape(n, chunks * 4)[:, chunks * 4 - width :]
    elif base == 16:
        alphabet = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
        value = numbers.astype(np.uint64, copy=False)
        for col in range(width):
            shift = np.uint64(4 * (width - 1 - col))
            matrix[:, len(head) + col] = alphabet[((value >> shift) & np.uint64(15)).astype(np.intp)]
    else:
        raise ValueError("base must be 10 or 16")
    offsets = np.arange(0, (n + 1) * row, row, dtype=np.int64)
    if offsets[-1] < 2**31:
        return pa.Array.from_buffers(
            pa.string(), n, [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(matrix)]
        )
    return pa.Array.from_buffers(
        pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(matrix)]
    ).cast(pa.string())


def _sequential_ids(prefix: str, n: int, width: int = 12) -> pa.Array:
    """``prefix`` + zero-padded 0..n-1 without any division: rows as uint32 words, digit words by repetition.

    The hot path for the tens of millions of delivery, metric and event ids; needs ``len(prefix)`` and ``width``
    to be multiples of 4 (else it falls back to ``_fixed_width``).
    """
    import numpy as np
    import pyarrow as pa

    head = prefix.encode("ascii")
    if len(head) % 4 or width % 4 or n == 0 or n > 10**width:
        return _fixed_width(prefix, np.arange(n, dtype=np.int64), width)
    lookup = _decimal_lookup()
    head_words, chunks = len(head) // 4, width // 4
    matrix = np.empty((n, head_words + chunks), dtype=np.uint32)
    if head_words:
        matrix[:, :head_words] = np.frombuffer(head, dtype=np.uint32)
    for chunk in range(chunks):
        place = 10000 ** (chunks - 1 - chunk)
        if place >= n:
            matrix[:, head_words + chunk] = lookup[0]
            continue
        cycle = np.repeat(lookup[: min(10000, -(-n // place))], place)
        matrix[:, head_words + chunk] = np.resize(cycle, n)
    row = 4 * (head_words + chunks)
    offsets = np.arange(0, (n + 1) * row, row, dtype=np.int64)
    if offsets[-1] >= 2**31:
        return _fixed_width(prefix, np.arange(n, dtype=np.int64), width)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(matrix)]
    )


_DECIMAL_LOOKUP: list[np.ndarray] = []


def _decimal_lookup() -> np.ndarray:
    """``lookup[i]`` is the four ASCII digits of ``i`` (0..9999) packed in one uint32, built once."""
    import numpy as np

    if not _DECIMAL_LOOKUP:
        text = "".join(f"{i:04d}" for i in range(10000)).encode("ascii")
        _DECIMAL_LOOKUP.append(np.frombuffer(text, dtype=np.uint32).copy())
    return _DECIMAL_LOOKUP[0]


def _pick(pool: Sequence[str | None], index: np.ndarray) -> pa.Array:
    import pyarrow as pa

    return pa.array(pool, type=pa.string()).take(pa.array(index))


def _join(*parts: Any) -> pa.Array:
    """Element-wise concatenation of string arrays and literals."""
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(*parts, "")


def _ts(values: np.ndarray, null_mask: np.ndarray | None = None) -> pa.Array:
    import pyarrow as pa

    return pa.array(values, type=pa.timestamp("us", tz="UTC"), mask=null_mask)


def _opt_int(values: np.ndarray, null_mask: np.ndarray) -> pa.Array:
    import pyarrow as pa

    return pa.array(values, type=pa.int64(), mask=null_mask)


def _epoch_us(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * US_PER_S


# --------------------------------------------------------------------------- people


def _people(rng: np.random.Generator, n: int, start_us: int, end_us: int) -> pa.Table:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    idx = np.arange(n, dtype=np.int64)
    id_width = max(6, len(str(max(n - 1, 0))))
    customer_id = _fixed_width("cust-", idx, id_width)
    cio_numbers = (idx * 0x9E3779B1 + 0x3000000) % (1 << 48)  # odd multiplier: a bijection mod 2**48
    cio_id = _fixed_width("", cio_numbers, 12, base=16)

    fw = np.array(_FIRST_W) / sum(_FIRST_W)
    lw = np.array(_LAST_W) / sum(_LAST_W)
    fi = rng.choice(len(_FIRST), size=n, p=fw)
    li = rng.choice(len(_LAST), size=n, p=lw)
    first_name = _pick([f for f, _ in _FIRST], fi)
    last_name = _pick([lname for lname, _ in _LAST], li)
    first_ascii = _pick([a for _, a in _FIRST], fi)
    last_ascii = _pick([a for _, a in _LAST], li)

    # countries and places
    cshare = np.array([s for _, s in _COUNTRY_SHARE])
    ci = rng.choice(len(_COUNTRY_SHARE), size=n, p=cshare / cshare.sum())
    countries = [c for c, _ in _COUNTRY_SHARE]
    flat = [(c, city, state, zp) for c in countries for city, state, zp in _LOCATIONS[c]]
    loc_start = np.cumsum([0] + [len(_LOCATIONS[c]) for c in countries])[:-1]
    loc_len = np.array([len(_LOCATIONS[c]) for c in countries])
    loc = loc_start[ci] + (rng.random(n) * loc_len[ci]).astype(np.int64)
    country = _pick(countries, ci)
    city = _pick([f[1] for f in flat], loc)
    state = _pick([f[2] for f in flat], loc)
    zip_prefix = _pick([f[3] for f in flat], loc)
    two = _fixed_width("", rng.integers(0, 100, n), 2)
    gb_tail = _join(
        " ", _fixed_width("", rng.integers(1, 10, n), 1), _pick(list("ABDEFGHJLNPQRSTUWXYZ"), rng.integers(0, 20, n)),
        _pick(list("ABDEFGHJLNPQRSTUWXYZ"), rng.integers(0, 20, n)),
    )  # fmt: skip
    is_gb = ci == countries.index("GB")
    zip_code = pc.if_else(pa.array(is_gb), _join(zip_prefix, gb_tail), _join(zip_prefix, two))

    # emails: several local-part shapes, mostly unique thanks to a numeric suffix
    dshare = np.array([s for _, s in _DOMAINS])
    di = rng.choice(len(_DOMAINS), size=n, p=dshare / dshare.sum())
    domain = _pick([d for d, _ in _DOMAINS], di)
    suffix = pc.cast(pa.array(idx), pa.string())
    shape = rng.choice(4, size=n, p=[0.45, 0.25, 0.2, 0.1])
    plain_dotted = _join(first_ascii, ".", last_ascii)
    local = pc.choose(
        pa.array(shape.astype(np.int8)),
        _join(plain_dotted, pc.if_else(pa.array(rng.random(n) < 0.8), suffix, "")),
        _join(first_ascii, last_ascii, suffix),
        _join(pc.utf8_slice_codeunits(first_ascii, 0, 1), last_ascii, suffix),
        _join(first_ascii, "_", suffix),
    )
    email = _join(local, "@", domain)
    case = rng.random(n)
    email = pc.if_else(pa.array(case < 0.10), pc.utf8_capitalize(email), email)
    email = pc.if_else(pa.array(case > 0.97), pc.utf8_upper(email), email)
    email = pc.if_else(pa.array(rng.random(n) < 0.01), _join(" ", email, " "), email)
    email = pc.if_else(pa.array(rng.random(n) < 0.03), pa.scalar(None, pa.string()), email)

    phone = _phones(rng, n, ci, countries)

    created = start_us - (rng.random(n) * 730 * US_PER_DAY).astype(np.int64)
    updated = created + (rng.random(n) * (end_us - 1 - created)).astype(np.int64)
    deleted = rng.random(n) < 0.01
    suppressed = rng.random(n) < 0.03
    ad_consent = rng.random(n) < 0.88

    table = pa.table(
        {
            "customer_id": customer_id,
            "internal_customer_id": cio_id,
            "cio_id": cio_id,
            "email": email,
            "phone": phone,
            "first_name": first_name,
            "last_name": last_name,
            "city": city,
            "state": state,
            "zip": zip_code,
            "country": country,
            "deleted": pa.array(deleted),
            "suppressed": pa.array(suppressed),
            "ad_consent": pa.array(ad_consent),
            "created_at": _ts(created),
            "updated_at": _ts(updated),
        }
    )
    return table.cast(_table_schema("people"))


def _phones(rng: np.random.Generator, n: int, ci: np.ndarray, countries: list[str]) -> pa.Array:
    """Phones as people type them into forms: many formats per country, placeholders, blanks."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    def digits(lo: int, hi: int, width: int) -> pa.Array:
        return _fixed_width("", rng.integers(lo, hi, n), width)

    a3, e3, l4 = digits(200, 990, 3), digits(200, 1000, 3), digits(0, 10000, 4)
    m3, m6 = digits(0, 1000, 3), digits(0, 1_000_000, 6)  # GB mobile 7XXX XXXXXX
    d1, d8 = digits(0, 10, 1), digits(0, 100_000_000, 8)  # DE mobile 15X XXXXXXXX
    f2 = [digits(0, 100, 2) for _ in range(4)]  # FR mobile 6 XX XX XX XX
    formats = {
        "US": [
            (_join("+1", a3, e3, l4), 0.35), (_join("(", a3, ") ", e3, "-", l4), 0.25),
            (_join(a3, "-", e3, "-", l4), 0.15), (_join(a3, ".", e3, ".", l4), 0.05),
            (_join(a3, e3, l4), 0.10), (_join("1 ", a3, " ", e3, " ", l4), 0.05),
            (_join("+1 (", a3, ") ", e3, "-", l4), 0.05),
        ],
        "GB": [
            (_join("+447", m3, m6), 0.4), (_join("07", m3, " ", m6), 0.35), (_join("+44 (0)7", m3, " ", m6), 0.15),
            (_join("+44 7", m3, " ", m6), 0.10),
        ],
        "DE": [
            (_join("+4915", d1, d8), 0.4), (_join("015", d1, " ", d8), 0.3), (_join("+49 (0)15", d1, " ", d8), 0.2),
            (_join("015", d1, "-", d8), 0.1),
        ],
        "FR": [
            (_join("+336", *f2), 0.4), (_join("06 ", f2[0], " ", f2[1], " ", f2[2], " ", f2[3]), 0.35),
            (_join("+33 (0)6 ", f2[0], " ", f2[1], " ", f2[2], " ", f2[3]), 0.15),
            (_join("06.", f2[0], ".", f2[1], ".", f2[2], ".", f2[3]), 0.10),
        ],
    }  # fmt: skip
    candidates: list[pa.Array] = []
    choice = np.zeros(n, dtype=np.int8)
    for country_index, country in enumerate(countries):
        arrays = [arr for arr, _ in formats[country]]
        weights = np.array([w for _, w in formats[country]])
        rows = ci == country_index
        choice[rows] = len(candidates) + rng.choice(
            len(arrays), size=int(rows.sum()), p=weights / weights.sum()
        )
        candidates.extend(arrays)
    phone = pc.choose(pa.array(choice), *candidates)
    kind = rng.random(n)
    placeholder = _pick(_PLACEHOLDER_PHONES, rng.integers(0, len(_PLACEHOLDER_PHONES), n))
    phone = pc.if_else(pa.array(kind < 0.015), placeholder, phone)
    phone = pc.if_else(pa.array((kind >= 0.015) & (kind < 0.035)), pa.scalar("", pa.string()), phone)
    return pc.if_else(pa.array(kind > 0.85), pa.scalar(None, pa.string()), phone)


# --------------------------------------------------------------------------- shopping funnel and deliveries


@dataclass
class _Cols:
    """Column builder for deliveries before they become a table (numpy arrays, -1 / NaT as null)."""

    person: list[np.ndarray]
    campaign: list[np.ndarray]
    action: list[np.ndarray]
    newsletter: list[np.ndarray]
    dtype_code: list[np.ndarray]
    created: list[np.ndarray]
    opened: list[np.ndarray]  # forced open time (cart recoveries) or -1
    clicked: list[np.ndarray]
    converted: list[np.ndarray]


_DELIVERY_TYPES = ["email", "push", "sms"]


def _funnel(
    rng: np.random.Generator,
    people: pa.Table,
    start_us: int,
    end_us: int,
    events_per_person: float,
    orders_per_person: float,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], _Cols]:
    """Carts with views, checkouts and orders, plus the cart emails they trigger (some carts recovered)."""
    import numpy as np

    n = people.num_rows
    carts_per_person = max(events_per_person, 0.0) / 3.8
    counts = rng.poisson(carts_per_person, n)
    cart_person = np.repeat(np.arange(n, dtype=np.int64), counts)
    m = len(cart_person)
    t = start_us + (rng.random(m) * (end_us - start_us)).astype(np.int64)
    product = np.minimum(rng.zipf(1.3, m), N_PRODUCTS) - 1
    price_cents = (500 + (product * 7919) % 19000).astype(np.int64)  # stable price per product
    p_order = float(np.clip(orders_per_person / max(carts_per_person, 1e-9), 0.02, 0.8)) if m else 0.0
    p_checkout = min(1.0, p_order * 1.5 + 0.05)
    checkout = rng.random(m) < p_checkout
    direct_order = checkout & (rng.random(m) < p_order / p_checkout)
    checkout_at = t + (US_PER_MIN + rng.random(m) * 19 * US_PER_MIN).astype(np.int64)
    order_at = checkout_at + (US_PER_MIN + rng.random(m) * 9 * US_PER_MIN).astype(np.int64)

    person_ok = np.asarray(
        ~people["deleted"].to_numpy(zero_copy_only=False)
        & ~people["suppressed"].to_numpy(zero_copy_only=False)
        & people["email"].is_valid().to_numpy(zero_copy_only=False)
    )
    eligible = ~direct_order & person_ok[cart_person]
    first_sent = eligible & (rng.random(m) < 0.9)
    first_at = t + US_PER_H + (rng.random(m) * 10 * US_PER_MIN).astype(np.int64)
    recover1 = first_sent & (rng.random(m) < 0.12)
    recover1_at = first_at + (10 * US_PER_MIN + rng.random(m) * 20 * US_PER_H).astype(np.int64)
    second_sent = first_sent & ~recover1 & (rng.random(m) < 0.85)
    second_at = t + 25 * US_PER_H + (rng.random(m) * 10 * US_PER_MIN).astype(np.int64)
    recover2 = second_sent & (rng.random(m) < 0.06)
    recover2_at = second_at + (10 * US_PER_MIN + rng.random(m) * 20 * US_PER_H).astype(np.int64)

    has_order = direct_order | recover1 | recover2
    final_order_at = np.where(recover1, recover1_at, np.where(recover2, recover2_at, order_at))
    final_checkout_at = np.where(direct_order, checkout_at, final_order_at - 2 * US_PER_MIN)
    has_checkout = checkout | recover1 | recover2

    carts = {
        "person": cart_person,
        "t": t,
        "product": product,
        "price_cents": price_cents,
        "has_checkout": has_checkout,
        "checkout_at": final_checkout_at,
        "has_order": has_order,
        "order_at": final_order_at,
    }

    def email_cols(sent: np.ndarray, at: np.ndarray, action: int, recovered: np.ndarray, rec_at: np.ndarray):
        sel = np.flatnonzero(sent)
        k = len(sel)
        conv = np.where(recovered[sel], rec_at[sel], -1)
        opened = np.where(recovered[sel], at[sel] + (conv - at[sel]) // 3, -1)
        clicked = np.where(recovered[sel], at[sel] + 2 * (conv - at[sel]) // 3, -1)
        return (
            cart_person[sel],
            np.full(k, CART_CAMPAIGN_ID),
            np.full(k, action),
            np.full(k, -1),
            np.zeros(k, dtype=np.int8),
            at[sel],
            opened,
            clicked,
            conv,
        )

    c1 = email_cols(first_sent, first_at, FIRST_CART_ACTION_ID, recover1, recover1_at)
    c2 = email_cols(second_sent, second_at, SECOND_CART_ACTION_ID, recover2, recover2_at)
    cols = _Cols(*[[a, b] for a, b in zip(c1, c2, strict=True)])
    # the views leading to each cart: 1 + Poisson(1) per cart, in the 30 minutes before it
    views_per_cart = 1 + rng.poisson(1.0, m)
    view_cart = np.repeat(np.arange(m, dtype=np.int64), views_per_cart)
    views = {
        "cart": view_cart,
        "t": t[view_cart] - (rng.random(len(view_cart)) * 30 * US_PER_MIN).astype(np.int64),
        "product": np.where(
            rng.random(len(view_cart)) < 0.6,
            product[view_cart],
            np.minimum(rng.zipf(1.3, len(view_cart)), N_PRODUCTS) - 1,
        ),
    }
    return carts, views, cols


def _other_sends(
    rng: np.random.Generator, people: pa.Table, per_person: float, start_us: int, end_us: int, cols: _Cols
) -> None:
    import numpy as np

    n = people.num_rows
    reachable = np.asarray(~people["deleted"].to_numpy(zero_copy_only=False))
    counts = rng.poisson(max(per_person, 0.0), n) * reachable
    person = np.repeat(np.arange(n, dtype=np.int64), counts)
    k = len(person)
    shares = np.array([s[4] for s in _OTHER_SENDS])
    which = rng.choice(len(_OTHER_SENDS), size=k, p=shares / shares.sum())
    table = np.array(
        [[c or -1, a or -1, nl or -1, _DELIVERY_TYPES.index(t)] for c, a, nl, t, _ in _OTHER_SENDS]
    )
    cols.person.append(person)
    cols.campaign.append(table[which, 0])
    cols.action.append(table[which, 1])
    cols.newsletter.append(table[which, 2])
    cols.dtype_code.append(table[which, 3].astype(np.int8))
    cols.created.append(start_us + (rng.random(k) * (end_us - start_us)).astype(np.int64))
    for forced in (cols.opened, cols.clicked, cols.converted):
        forced.append(np.full(k, -1, dtype=np.int64))


def _deliveries(rng: np.random.Generator, people: pa.Table, cols: _Cols, end_us: int) -> pa.Table:
    import numpy as np
    import pyarrow as pa

    def cat(parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([np.asarray(p, dtype=np.int64) for p in parts])

    created = cat(cols.created)
    keep = created < end_us
    order = np.flatnonzero(keep)[np.argsort(created[keep], kind="quicksort")]
    person = cat(cols.person)[order]
    campaign = cat(cols.campaign)[order]
    action = cat(cols.action)[order]
    newsletter = cat(cols.newsletter)[order]
    dtype_code = cat(cols.dtype_code)[order]
    created = created[order]
    f_open, f_click, f_conv = cat(cols.opened)[order], cat(cols.clicked)[order], cat(cols.converted)[order]
    k = len(order)

    r = rng.random((6, k))
    sent_ok = r[0] < 0.985
    sent = created + (r[1] * 120 * US_PER_S).astype(np.int64)
    delivered_ok = sent_ok & (r[2] < 0.965)
    bounced_ok = sent_ok & ~delivered_ok & (r[2] < 0.99) & (dtype_code == 0)
    delivered = sent + (US_PER_S + r[3] * 59 * US_PER_S).astype(np.int64)
    cart = campaign == CART_CAMPAIGN_ID
    open_rate = np.where(cart, 0.45, 0.28)
    opened_ok = delivered_ok & (r[4] < open_rate)
    opened = delivered + rng.exponential(3 * US_PER_H, k).astype(np.int64)
    u = rng.random((2, k))
    clicked_ok = opened_ok & (u[0] < 0.14)
    clicked = opened + (5 * US_PER_S + u[1] * 30 * US_PER_MIN).astype(np.int64)
    converted_ok = clicked_ok & ~cart & (r[5] < 0.08)
    converted = clicked + (US_PER_MIN + r[5] * 2 * US_PER_H).astype(np.int64)
    forced = f_conv >= 0  # recovered carts: opened, clicked and converted for sure
    delivered_ok |= forced
    opened_ok = (opened_ok & ~cart) | forced | (opened_ok & cart & (f_conv < 0))
    clicked_ok = (clicked_ok & ~forced) | forced
    converted_ok = converted_ok | forced
    opened = np.where(forced, f_open, opened)
    clicked = np.where(forced, f_click, clicked)
    converted = np.where(forced, f_conv, converted)
    sent_ok |= forced
    bounced = delivered + (r[3] * 10 * US_PER_S).astype(np.int64)

    customer_id = people["customer_id"].take(pa.array(person))
    internal = people["internal_customer_id"].take(pa.array(person))
    table = pa.table(
        {
            "delivery_id": _sequential_ids("dlv-", k),
            "customer_id": customer_id,
            "internal_customer_id": internal,
            "campaign_id": _opt_int(campaign, campaign < 0),
            "action_id": _opt_int(action, action < 0),
            "newsletter_id": _opt_int(newsletter, newsletter < 0),
            "delivery_type": _pick(_DELIVERY_TYPES, dtype_code.astype(np.int64)),
            "created_at": _ts(created),
            "sent_at": _ts(sent, ~sent_ok),
            "delivered_at": _ts(delivered, ~delivered_ok),
            "opened_at": _ts(opened, ~opened_ok),
            "clicked_at": _ts(clicked, ~clicked_ok),
            "converted_at": _ts(converted, ~converted_ok),
            "bounced_at": _ts(bounced, ~bounced_ok),
        }
    )
    return table.cast(_table_schema("deliveries"))


_METRIC_COLUMNS = [
    ("sent", "sent_at"),
    ("delivered", "delivered_at"),
    ("opened", "opened_at"),
    ("clicked", "clicked_at"),
    ("converted", "converted_at"),
    ("bounced", "bounced_at"),
]


def _metrics(rng: np.random.Generator, deliveries: pa.Table) -> pa.Table:
    """One row per metric event, one record batch per metric (no 20M-row concatenations)."""
    import numpy as np
    import pyarrow as pa

    schema = _table_schema("metrics")
    selections = []
    for metric, column in _METRIC_COLUMNS:
        col = deliveries[column].combine_chunks()
        sel = np.flatnonzero(np.asarray(col.is_valid().to_numpy(zero_copy_only=False)))
        selections.append((metric, col, sel))
    total = sum(len(sel) for _, _, sel in selections)
    event_ids = _sequential_ids("met-", total)
    delivery_ids = deliveries["delivery_id"].combine_chunks()
    customer_ids = deliveries["customer_id"].combine_chunks()
    batches = []
    offset = 0
    for metric, col, sel in selections:
        k = len(sel)
        rows = pa.array(sel)
        link = (
            _pick(_LINKS, rng.integers(0, len(_LINKS), k))
            if metric == "clicked"
            else pa.nulls(k, pa.string())
        )
        reason = (
            _pick(_BOUNCE_REASONS, rng.integers(0, len(_BOUNCE_REASONS), k))
            if metric == "bounced"
            else pa.nulls(k, pa.string())
        )
        batch = pa.record_batch(
            [
                event_ids.slice(offset, k),
                delivery_ids.take(rows),
                customer_ids.take(rows),
                pa.repeat(pa.scalar(metric, pa.string()), k),
                col.take(rows),
                link,
                reason,
            ],
            schema=schema,
        )
        batches.append(batch)
        offset += k
    return pa.Table.from_batches(batches, schema=schema)


def _events_and_orders(
    rng: np.random.Generator,
    people: pa.Table,
    carts: dict[str, np.ndarray],
    views: dict[str, np.ndarray],
    start_us: int,
    end_us: int,
) -> tuple[pa.Table, pa.Table]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    m = len(carts["t"])
    cart_ids = _fixed_width("cart-", np.arange(m, dtype=np.int64), max(9, len(str(m))))
    price = carts["price_cents"] / 100.0
    qty = rng.integers(1, 4, m)
    amount = np.round(price * qty, 2)
    o = np.flatnonzero(carts["has_order"] & (carts["order_at"] < end_us))
    c = np.flatnonzero(carts["has_checkout"] & (carts["checkout_at"] < end_us))
    v = views["cart"]
    names = ["viewed_product", "added_to_cart", "checkout_started", "order_completed"]
    person = np.concatenate([carts["person"][v], carts["person"], carts["person"][c], carts["person"][o]])
    name_code = np.concatenate([np.zeros(len(v)), np.ones(m), np.full(len(c), 2), np.full(len(o), 3)]).astype(
        np.int64
    )
    ts = np.concatenate([views["t"], carts["t"], carts["checkout_at"][c], carts["order_at"][o]])
    product = np.concatenate([views["product"], carts["product"], carts["product"][c], carts["product"][o]])
    cart_index = np.concatenate([np.full(len(v), -1), np.arange(m), c, o])
    view_price_cents = 500 + (views["product"] * 7919) % 19000
    value_cents = np.concatenate(
        [view_price_cents, carts["price_cents"], np.round(amount[c] * 100), np.round(amount[o] * 100)]
    )
    value = value_cents.astype(np.float64) / 100.0
    keep = (ts >= start_us) & (ts < end_us)
    order = np.flatnonzero(keep)[np.argsort(ts[keep], kind="quicksort")]
    person, name_code, ts, product = person[order], name_code[order], ts[order], product[order]
    cart_index, value = cart_index[order], value[order]
    k = len(order)
    cart_col = cart_ids.take(pa.array(np.maximum(cart_index, 0)))
    cart_col = pc.if_else(pa.array(cart_index < 0), pa.scalar(None, pa.string()), cart_col)
    events = pa.table(
        {
            "event_id": _sequential_ids("evt-", k),
            "customer_id": people["customer_id"].take(pa.array(person)),
            "name": _pick(names, name_code),
            "product_id": _fixed_width("prod-", product.astype(np.int64), 4),
            "cart_id": cart_col,
            "value": pa.array(value, pa.float64()),
            "timestamp": _ts(ts),
        }
    ).cast(_table_schema("events"))

    o_sorted = o[np.argsort(carts["order_at"][o], kind="quicksort")]
    margin_rate = 0.15 + rng.random(len(o_sorted)) * 0.4
    orders = pa.table(
        {
            "customer_id": people["customer_id"].take(pa.array(carts["person"][o_sorted])),
            "order_id": _sequential_ids("ord-", len(o_sorted)),
            "amount": pa.array(amount[o_sorted], pa.float64()),
            "margin": pa.array(np.round(amount[o_sorted] * margin_rate, 2), pa.float64()),
            "ordered_at": _ts(carts["order_at"][o_sorted]),
        }
    )
    return events, orders


def generate_workspace(
    *,
    people: int,
    seed: int = 7,
    start: date,
    days: int,
    workspace_id: int = 111528,
    deliveries_per_person: float = 10.0,
    events_per_person: float = 8.0,
    orders_per_person: float = 0.4,
) -> SyntheticWorkspace:
    """Generate a workspace; ``*_per_person`` are approximate means (cart emails count towards deliveries)."""
    import numpy as np
    import pyarrow as pa

    if people < 0 or days < 1:
        raise ValueError("people must be >= 0 and days >= 1")
    rng = np.random.default_rng(np.random.SeedSequence([seed, workspace_id]))
    start_us = _epoch_us(start)
    end_us = start_us + days * US_PER_DAY
    people_table = _people(rng, people, start_us, end_us)
    carts, views, cols = _funnel(rng, people_table, start_us, end_us, events_per_person, orders_per_person)
    cart_deliveries = sum(len(a) for a in cols.person) / max(people, 1)
    _other_sends(rng, people_table, max(0.0, deliveries_per_person - cart_deliveries), start_us, end_us, cols)
    deliveries = _deliveries(rng, people_table, cols, end_us)
    metrics = _metrics(rng, deliveries)
    events, orders = _events_and_orders(rng, people_table, carts, views, start_us, end_us)
    campaigns = pa.table(
        {
            "id": pa.array([c[0] for c in CAMPAIGNS], pa.int64()),
            "name": pa.array([c[1] for c in CAMPAIGNS], pa.string()),
            "type": pa.array([c[2] for c in CAMPAIGNS], pa.string()),
        }
    )
    actions = pa.table(
        {
            "id": pa.array([a[0] for a in ACTIONS], pa.int64()),
            "campaign_id": pa.array([a[1] for a in ACTIONS], pa.int64()),
            "name": pa.array([a[2] for a in ACTIONS], pa.string()),
            "type": pa.array([a[3] for a in ACTIONS], pa.string()),
        }
    )
    return SyntheticWorkspace(
        workspace_id=workspace_id,
        seed=seed,
        start=start,
        days=days,
        people=people_table,
        deliveries=deliveries,
        metrics=metrics,
        events=events,
        orders=orders,
        campaigns=campaigns,
        actions=actions,
    )


# --------------------------------------------------------------------------- native files Customer.io writes


def write_dataout_files(ws: SyntheticWorkspace, store: Any, prefix: str, **options: Any) -> list[str]:
    """Journeys data-out Parquet files for ``ws`` (see ``emulators.customerio.dataout.write_dataout_files``)."""
    from cio_devkit.emulators.customerio.dataout import write_dataout_files as write

    return write(ws, store, prefix, **options)


def write_pipelines_files(ws: SyntheticWorkspace, store: Any, prefix: str, **options: Any) -> list[str]:
    """Data Pipelines storage files of track calls (see ``emulators.customerio.dataout``)."""
    from cio_devkit.emulators.customerio.dataout import write_pipelines_files as write

    return write(ws, store, prefix, **options)


# --------------------------------------------------------------------------- segments


def segment_mask(ws: SyntheticWorkspace, segment_id: int) -> pa.Array:
    """Boolean mask over ``ws.people`` for one of ``SEGMENTS``; raises KeyError for an unknown segment."""
    import pyarrow as pa
    import pyarrow.compute as pc

    p = ws.people
    alive = pc.invert(p["deleted"])
    if segment_id == 1:
        return alive
    if segment_id == 2:
        return pc.and_(pc.and_(alive, pc.invert(p["suppressed"])), p["ad_consent"])
    if segment_id == 3:
        names = ws.events["name"]
        carted = pc.unique(ws.events.filter(pc.equal(names, "added_to_cart"))["customer_id"])
        bought = pc.unique(ws.events.filter(pc.equal(names, "order_completed"))["customer_id"])
        return pc.and_(
            alive, pc.and_(pc.is_in(p["customer_id"], carted), pc.invert(pc.is_in(p["customer_id"], bought)))
        )
    if segment_id == 4:
        return pc.and_(alive, pc.equal(p["country"], pa.scalar("US")))
    raise KeyError(segment_id)


# --------------------------------------------------------------------------- export CSV (App API format)

DELIVERIES_EXPORT_HEADER = [
    "id",
    "customer_id",
    "cio_id",
    "campaign_id",
    "action_id",
    "newsletter_id",
    "type",
    "created_at",
    "sent_at",
    "delivered_at",
    "opened_at",
    "clicked_at",
    "converted_at",
    "bounced_at",
]
_DELIVERY_SOURCE = {
    "id": "delivery_id",
    "cio_id": "internal_customer_id",
    "type": "delivery_type",
}


def iter_deliveries_csv(
    ws: SyntheticWorkspace | None = None,
    chunk_rows: int = 100_000,
    *,
    deliveries: pa.Table | None = None,
    time_format: str = "iso",
    attributes: list[str] | None = None,
    people: pa.Table | None = None,
) -> Iterator[bytes]:
    """Stream a deliveries export CSV (header first) in chunks of ``chunk_rows`` rows.

    ``time_format`` is "iso" (``2024-03-01T10:00:00Z``) or "unix" (seconds). ``attributes`` adds customer attribute
    columns looked up in ``people`` by customer id, as Customer.io does for the export's ``attributes`` option.
    """
    table = deliveries if deliveries is not None else (ws.deliveries if ws else None)
    if table is None:
        raise ValueError("pass a workspace or a deliveries table")
    columns = {name: _DELIVERY_SOURCE.get(name, name) for name in DELIVERIES_EXPORT_HEADER}
    lookup = people if people is not None else (ws.people if ws else None)
    yield from _iter_csv(table, columns, chunk_rows, time_format, attributes or [], lookup)


def iter_customers_csv(
    people: pa.Table, attributes: list[str] | None = None, chunk_rows: int = 100_000
) -> Iterator[bytes]:
    """Stream a customers export CSV: ``id``, ``email``, ``cio_id`` then the requested attributes."""
    columns = {"id": "customer_id", "email": "email", "cio_id": "cio_id"}
    for name in attributes or []:
        if name in people.column_names and name not in columns.values():
            columns[name] = name
    yield from _iter_csv(people, columns, chunk_rows, "unix", [], None)


def _iter_csv(
    table: pa.Table,
    columns: dict[str, str],
    chunk_rows: int,
    time_format: str,
    attributes: list[str],
    people: pa.Table | None,
) -> Iterator[bytes]:
    import io

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    if time_format not in ("iso", "unix"):
        raise ValueError("time_format must be 'iso' or 'unix'")
    attrs = [a for a in attributes if people is not None and a in people.column_names]
    header = list(columns) + [f"attr_{a}" if a in columns else a for a in attrs]
    yield (",".join(header) + "\n").encode("utf-8")
    for offset in range(0, table.num_rows, max(1, chunk_rows)):
        chunk = table.slice(offset, chunk_rows)
        out: dict[str, pa.Array] = {}
        for name, source in columns.items():
            col = chunk[source]
            if pa.types.is_timestamp(col.type):
                if time_format == "unix":
                    col = pc.divide(pc.cast(col, pa.int64()), US_PER_S)
                else:
                    col = pc.strftime(col, format="%Y-%m-%dT%H:%M:%SZ")
            elif pa.types.is_boolean(col.type):
                col = pc.if_else(col, "true", "false")
            out[name] = col
        if attrs and people is not None:
            idx = pc.index_in(chunk["customer_id"], people["customer_id"])
            for a, name in zip(attrs, header[len(columns) :], strict=True):
                out[name] = people[a].take(idx)
        buf = io.BytesIO()
        pacsv.write_csv(pa.table(out), buf, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
        yield buf.getvalue()
