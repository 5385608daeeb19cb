"""Global exclusions with counts per reason, holdout exclusion, one member per customer, bad identifiers."""

from __future__ import annotations

import hashlib

from audience_tables import AS_OF, ago, ids, orders, people, person, sha

from airflow_provider_cio.audiences import (
    AudienceEngine,
    AudienceInputs,
    HoldoutPolicy,
    build_audience,
    load_definition,
)
from airflow_provider_cio.identity import hash_identifier

SUPPRESS = "suppress_recent_purchasers"


def recent(*cids: str):  # noqa: ANN201
    return orders(*((c, 20, ago(days=1)) for c in cids))


def independent_in_holdout(cid: str, salt: str, share: float) -> bool:
    """The holdout rule written out again, not imported: first 60 bits of sha256("salt:id") < share * 2**60."""
    return int(hashlib.sha256(f"{salt}:{cid}".encode()).hexdigest()[:15], 16) < int(share * 2**60)


def test_exclusions_are_counted_per_reason() -> None:
    p = people(
        person("ok"),
        person("gone", deleted=True),
        person("quiet", suppressed=True),
        person("noconsent", ad_consent=False),
        person("both", deleted=True, suppressed=True),  # first reason in order wins: deleted
        person("twoprofiles", cio_id="x1"),
        person(
            "twoprofiles", cio_id="x2", email="other@example.com", suppressed=True
        ),  # any profile suppressed
        person("useless", email="not-an-email", phone="0000000000"),
    )
    o = recent("ok", "gone", "quiet", "noconsent", "both", "twoprofiles", "useless", "ghost")
    build = build_audience(
        load_definition(SUPPRESS), AudienceInputs(people=p, warehouse={"orders": o}), as_of=AS_OF
    )
    assert ids(build) == {"ok"}
    assert build.stats["candidates"] == 8
    assert build.stats["exclusions"] == {
        "not_in_people": 1,
        "deleted": 2,
        "suppressed": 2,
        "no_ad_consent": 1,
        "no_usable_identifier": 1,
    }
    assert build.stats["size"] == 1
    # the unusable person's values were dropped with counted reasons, per platform
    assert build.stats["identifier_drops"]["meta"]["email"] == {"malformed_email": 1}
    assert build.stats["identifier_drops"]["google"]["phone"] == {"placeholder_phone": 1}


def test_holdout_members_never_enter_an_audience_and_are_counted() -> None:
    cids = [f"c{i:03d}" for i in range(40)]
    policy = HoldoutPolicy(program="retention", salt="s-2026", share=0.3)
    held = {c for c in cids if independent_in_holdout(c, policy.salt, policy.share)}
    assert 0 < len(held) < len(cids)  # the fixture exercises both groups
    inputs = AudienceInputs(people=people(*(person(c) for c in cids)), warehouse={"orders": recent(*cids)})
    build = build_audience(load_definition(SUPPRESS), inputs, as_of=AS_OF, holdout=policy)
    assert ids(build) == set(cids) - held
    assert build.stats["exclusions"]["holdout"] == len(held)
    assert build.stats["holdout"]["share"] == 0.3 and "salt" not in build.stats["holdout"]
    assert build.population is not None
    population = dict(
        zip(*(build.population.column(c).to_pylist() for c in ("customer_id", "in_holdout")), strict=True)
    )
    assert {c for c, h in population.items() if h} == held
    assert len(population) == len(cids)


def test_multi_email_customer_is_one_member_with_every_identifier() -> None:
    p = people(
        person("m1", cio_id="a", email=" A.Person@Example.com ", phone="+1 (650) 555-2101"),
        person("m1", cio_id="b", email="J.Doe@gmail.com", phone="(650) 555-2102"),  # national, person is US
        person("m1", cio_id="c", email="a.person@example.com"),  # the same email again: one hash
    )
    build = build_audience(
        load_definition(SUPPRESS), AudienceInputs(people=p, warehouse={"orders": recent("m1")}), as_of=AS_OF
    )
    assert build.members.num_rows == 1
    row = build.members.to_pylist()[0]
    assert row["customer_id"] == "m1"
    assert row["meta_email"] == sorted([sha("a.person@example.com"), sha("j.doe@gmail.com")])
    assert row["google_email"] == sorted(
        [sha("a.person@example.com"), sha("jdoe@gmail.com")]
    )  # gmail dots go
    assert row["meta_phone"] == sorted([sha("16505552101"), sha("16505552102")])
    assert row["google_phone"] == sorted([sha("+16505552101"), sha("+16505552102")])
    assert row["google_country"] == ["US"]  # plain for Google
    assert row["meta_country"] == [sha("us")]  # hashed for Meta
    assert build.stats["identifier_coverage"]["meta"]["email"] == 1


def test_bad_identifiers_are_dropped_with_reasons_never_hashed_empty() -> None:
    p = people(
        person("b1", email="", phone="", first_name="José", last_name="  "),
        person("b2", email="no-at-sign", phone="555-1234", country=None, first_name="李"),
        person("b3", email="ok3@example.com", phone="1111111111", first_name="Zoë"),
        person("b4", email="ok4@example.com", phone="020 7123 4567", country="GB"),
    )
    build = build_audience(
        load_definition(SUPPRESS),
        AudienceInputs(people=p, warehouse={"orders": recent("b1", "b2", "b3", "b4")}),
        as_of=AS_OF,
    )
    assert ids(build) == {"b3", "b4"}
    assert build.stats["exclusions"]["no_usable_identifier"] == 2
    drops = build.stats["identifier_drops"]["meta"]
    assert drops["email"] == {"empty": 1, "malformed_email": 1}
    assert drops["phone"] == {"empty": 1, "no_country_code": 1, "placeholder_phone": 1}
    rows = {r["customer_id"]: r for r in build.members.to_pylist()}
    assert rows["b4"]["meta_phone"] == [
        sha("442071234567")
    ]  # GB national number read with the person's country
    assert rows["b3"]["meta_first_name"] == [hash_identifier("first_name", "Zoë", platform="meta")]
    assert rows["b3"]["meta_phone"] == []
    empty_hash = sha("")
    for row in rows.values():
        for name, values in row.items():
            if isinstance(values, list):
                assert empty_hash not in values, name


def test_default_country_reads_national_numbers_without_a_person_country() -> None:
    p = people(person("n1", phone="(650) 555-2199", country=None))
    inputs = AudienceInputs(people=p, warehouse={"orders": recent("n1")})
    with AudienceEngine(inputs, default_country="US") as engine:
        build = engine.build(load_definition(SUPPRESS), as_of=AS_OF)
    assert build.members.to_pylist()[0]["google_phone"] == [sha("+16505552199")]


def test_engine_hashes_each_customer_once_across_audiences() -> None:
    p = people(person("x"), person("y"))
    inputs = AudienceInputs(people=p, warehouse={"orders": recent("x", "y")})
    with AudienceEngine(inputs, platforms=["meta"]) as engine:
        first = engine.build(load_definition(SUPPRESS), as_of=AS_OF)
        second = engine.build(load_definition(SUPPRESS), as_of=AS_OF, parameters={"purchase_window_days": 7})
    assert first.stats["identifiers_hashed_this_build"] == 2
    assert second.stats["identifiers_hashed_this_build"] == 0
    assert first.members.equals(second.members)
    assert not any(name.startswith("google_") for name in first.members.column_names)
