"""Holdout assignment: stable, the configured share, independent per salt, SQL agrees with Python."""

from __future__ import annotations

import hashlib

import duckdb
import pyarrow as pa
import pytest

from airflow_provider_cio.audiences import HoldoutPolicy, holdout_mask, holdout_sql, in_holdout

IDS = [f"cus-{i:07d}" for i in range(100_000)]


def test_share_within_tolerance_on_100k_ids() -> None:
    for share in (0.05, 0.1, 0.5):
        held = sum(holdout_mask(IDS, salt="program-a", share=share))
        # binomial sd = sqrt(n p (1-p)) <= 158; 5 sd is a tolerance that a correct hash never misses
        assert abs(held - share * len(IDS)) < 5 * (len(IDS) * share * (1 - share)) ** 0.5


def test_assignment_is_stable_and_matches_the_written_out_rule() -> None:
    first = holdout_mask(IDS[:5000], salt="s", share=0.2)
    assert first == holdout_mask(IDS[:5000], salt="s", share=0.2)
    reference = [
        int(hashlib.sha256(f"s:{c}".encode()).hexdigest()[:15], 16) < int(0.2 * 2**60) for c in IDS[:5000]
    ]
    assert first == reference
    assert [in_holdout(c, salt="s", share=0.2) for c in IDS[:200]] == first[:200]


def test_salts_are_independent_and_shares_nest() -> None:
    a = holdout_mask(IDS, salt="program-a", share=0.1)
    b = holdout_mask(IDS, salt="program-b", share=0.1)
    both = sum(x and y for x, y in zip(a, b, strict=True))
    assert abs(both - 0.01 * len(IDS)) < 5 * (len(IDS) * 0.01) ** 0.5  # independent: ~1% in both
    wider = holdout_mask(IDS, salt="program-a", share=0.2)
    assert all(w for x, w in zip(a, wider, strict=True) if x)  # raising the share only adds customers


def test_sql_version_agrees_with_python_on_100k_ids() -> None:
    con = duckdb.connect()
    con.register("ids", pa.table({"customer_id": IDS}))
    salt = "o'brien salt"  # a quote in the salt must not break the SQL
    rows = con.sql(
        f"SELECT customer_id, {holdout_sql('customer_id', salt=salt, share=0.1)} FROM ids"
    ).fetchall()
    sql_mask = dict(rows)
    python_mask = dict(zip(IDS, holdout_mask(IDS, salt=salt, share=0.1), strict=True))
    assert sql_mask == python_mask
    assert sum(HoldoutPolicy("p", "x", 0.0).contains(c) for c in IDS[:1000]) == 0
    assert sum(HoldoutPolicy("p", "x", 1.0).contains(c) for c in IDS[:1000]) == 1000


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="share"):
        HoldoutPolicy("p", "salt", 1.5)
    with pytest.raises(ValueError, match="salt"):
        HoldoutPolicy("p", "", 0.1)
