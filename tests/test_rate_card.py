"""Rate-card contracts: hand-worked statements (prerequisites, caps, exclusive outcomes,
unverified evidence, subgroups with a ring-fenced amount), mixed with a reoffending
component in one statement, the TOML round trip, run_contract and the refusals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

import pbr
from pbr.contract import Component, Contract, Outcome, pay
from pbr.errors import ContractError
from pbr.outcomes import OutcomeEvents, Participants, assess

D = dt.date
TOML = '''
[contract]
schema = 1
name = "Rate card (hand-worked)"
currency = "GBP"
[cohorts]
period = [{ name = "2020", start = 2020-01-01, year = "2020" }]
[comparator]
values = { binary_rate = 45.0 }
{binary}
[[component]]
name = "women"
kind = "rate_card"
prices = { employment_13w = 1000.00, accommodation_13w = 800.00 }
subgroup = { sex = ["F"] }
ring_fenced = 1500.00
note = "women's service, ring-fenced"
[[component]]
name = "card"
kind = "rate_card"
participant_cap = 2000.00
outcome_caps = { qualification = 1 }
exclusive = [["employment_13w", "qualification"]]
cap = 5000.00
[component.prices]
employment_13w = 1500.00
employment_26w = 1000.00
accommodation_13w = 800.00
qualification = 500.00
{limits}
'''
BINARY = '''[[component]]
name = "binary"
kind = "linear"
measure = "binary_rate"
basis = "points"
price = 100.00
'''


def _contract(binary: bool = False, limits: str = "") -> Contract:
    return Contract.from_toml(TOML.replace("{binary}", BINARY if binary else "")
                              .replace("{limits}", limits))


def _participants() -> Participants:
    return Participants.from_frame(pl.DataFrame({
        "participant_id": ["A", "B", "C", "D"], "start_date": [D(2020, 1, 1)] * 4,
        "cohort": ["2020"] * 4, "sex": ["M", "M", "F", "F"]}))


def _events() -> OutcomeEvents:
    rows = [  # participant, outcome, date, evidence ref, type, verified
        ("A", "employment_13w", D(2020, 4, 1), "R1", "hmrc_rti", True),
        ("A", "employment_26w", D(2020, 7, 1), "R2", "hmrc_rti", True),
        ("A", "qualification", D(2020, 8, 1), "C1", "certificate", True),
        ("B", "qualification", D(2020, 5, 1), "C2", "certificate", True),
        ("B", "employment_13w", D(2020, 6, 1), "R3", "payslip", True),
        ("C", "employment_13w", D(2020, 4, 2), "R4", "payslip", True),
        ("C", "accommodation_13w", D(2020, 4, 3), "T1", "tenancy_agreement", True),
        ("D", "employment_13w", D(2020, 4, 4), "R5", "payslip", False),
    ]
    cols = ["participant_id", "outcome_type", "date_achieved", "evidence_ref",
            "evidence_type", "verified"]
    return OutcomeEvents.from_frame(pl.DataFrame(rows, schema=cols, orient="row"))


def _by(statement: pbr.PaymentStatement) -> dict[tuple[str | None, str | None], str]:
    return {(x.participant, x.measure): str(x.amount) for x in statement.lines
            if x.participant is not None}


def test_hand_worked_rate_card_statement() -> None:
    """A: 13w job 1500 (card), 26w job 1000 cut to 500 by the 2000 participant cap,
    qualification excluded by the job (exclusive group).  B: qualification 500, then the
    13w job excluded.  C (woman): 13w job 1000 and accommodation 800 cut to 500 by the
    ring-fenced 1500.  D (woman): unverified payslip, unpaid.  Total 4000.00."""
    s = pay(_contract(), events=assess(_events(), _participants()))
    assert _by(s) == {
        ("A", "employment_13w"): "1500.00", ("A", "employment_26w"): "500.00",
        ("A", "qualification"): "0.00", ("B", "qualification"): "500.00",
        ("B", "employment_13w"): "0.00", ("C", "employment_13w"): "1000.00",
        ("C", "accommodation_13w"): "500.00", ("D", "employment_13w"): "0.00"}
    assert s.total == Decimal("4000.00") == sum(x.amount for x in s.lines)
    assert s.totals("component") == {"card": Decimal("2500.00"), "women": Decimal("1500.00")}
    rules = {(x.participant, x.measure): x.rule for x in s.lines}
    assert rules[("D", "employment_13w")] == "not paid: evidence not verified (O2)"
    assert rules[("B", "employment_13w")] == "not paid: exclusive with qualification"
    assert rules[("A", "qualification")] == "not paid: exclusive with employment_13w"
    # each line explained down to the participant and the evidence
    line = next(x for x in s.lines if (x.participant, x.measure) == ("A", "employment_26w"))
    text = s.explain(line.line)
    assert "participant A, outcome employment_26w; evidence hmrc_rti R2, verified" in text
    assert "participant cap 2000.00: 1500.00 already paid for A, 500.00 left: pay 500.00" in text
    d = next(x for x in s.lines if x.participant == "D")
    assert "not valid (O2): evidence payslip R5 not verified: nothing paid" in s.explain(d.line)
    c = next(x for x in s.lines if (x.participant, x.measure) == ("C", "accommodation_13w"))
    assert "ring-fenced amount 1500.00: 1000.00 already paid by 'women', 500.00 left" \
        in s.explain(c.line)
    frame = s.to_frame()
    assert {"participant", "evidence"} <= set(frame.columns)


def test_pbr_pay_takes_the_events() -> None:
    a = assess(_events(), _participants())
    assert pbr.pay(_contract(), events=a).total == Decimal("4000.00")
    with pytest.raises(ContractError, match=r"events=: not accepted with out="):
        pbr.pay(_contract(), events=a, out="statement")


def test_prerequisite_and_outcome_cap() -> None:
    """26 weeks without a valid 13-week outcome is unpaid (O10); the second
    qualification is over the outcome cap of 1."""
    people = _participants()
    ev = OutcomeEvents.from_frame(pl.DataFrame({
        "participant_id": ["A", "A", "B", "C"],
        "outcome_type": ["employment_13w", "employment_26w", "qualification",
                         "qualification"],
        "date_achieved": [D(2020, 2, 1), D(2020, 8, 1), D(2020, 3, 1), D(2020, 3, 2)],
        "evidence_ref": ["R1", "R2", "C1", "C2"],
        "evidence_type": ["payslip", "payslip", "certificate", "certificate"],
        "verified": [True, True, True, True]}))
    s = pay(_contract(), events=assess(ev, people))
    got = {(x.participant, x.measure): (str(x.amount), x.rule) for x in s.lines}
    assert got[("A", "employment_13w")] == ("0.00", "not paid: not sustained long enough (O6)")
    assert got[("A", "employment_26w")] == ("0.00", "not paid: prerequisite not achieved (O10)")
    assert got[("B", "qualification")] == ("500.00", "rate card 500.00 per qualification")
    # C is a woman, but the women's component does not price qualifications: the general
    # card takes the claim, whose cap of one qualification is reached
    assert got[("C", "qualification")] == ("0.00", "not paid: outcome cap 1 reached")
    assert s.total == Decimal("500.00")


def test_programme_cap() -> None:
    contract = Contract.from_toml(TOML.replace("{binary}", "").replace("{limits}", "")
                                  .replace("cap = 5000.00", "cap = 1700.00"))
    s = pay(contract, events=assess(_events(), _participants()))
    card = [x for x in s.lines if x.component == "card"]
    assert [str(x.amount) for x in card] == ["1500.00", "200.00", "0.00", "0.00", "0.00"]
    assert "programme cap 1700.00: 1500.00 already paid by 'card', 200.00 left" in \
        s.explain(card[1].line)
    assert card[2].rule == "not paid: exclusive with qualification"   # B was paid 200
    assert card[3].rule == "not paid: cap reached"


def test_mixed_with_a_reoffending_component_and_a_total_cap() -> None:
    """binary: (45 - 40) points x 100 = 500; card 2500; women 1500 (ring-fenced, outside
    the total cap).  total_cap 2800 cuts 500 + 2500 = 3000 by 200: total 4300.00."""
    c = _contract(binary=True, limits="[limits]\ntotal_cap = 2800.00\n")
    s = pay(c, [Outcome("2020", "binary_rate", actual=40, comparator=45, n=100)],
            events=assess(_events(), _participants()))
    assert s.totals("component")["binary"] == Decimal("500.00")
    assert s.totals("component")["limit total_cap"] == Decimal("-200.00")
    assert s.total == Decimal("4300.00")
    assert s.totals("kind") == {"component": Decimal("4500.00"), "limit": Decimal("-200.00")}


def test_toml_round_trip_and_text() -> None:
    c = _contract()
    assert Contract.from_toml(c.to_toml()) == c
    card = c.components[1]
    assert card.prices[0] == ("employment_13w", Decimal("1500.00"))
    assert card.exclusive == (("employment_13w", "qualification"),)
    assert "ring-fenced 1500.00" in str(c)


def test_variation_applies_to_participants_starting_after_it() -> None:
    c = Contract.from_toml(TOML.replace("{binary}", "").replace("{limits}", "") + '''
[[variation]]
effective = 2020-01-01
component = "card"
[variation.set.prices]
employment_13w = 1200.00
employment_26w = 1000.00
accommodation_13w = 800.00
qualification = 500.00
''')
    assert Contract.from_toml(c.to_toml()) == c
    s = pay(c, events=assess(_events(), _participants()))
    a = next(x for x in s.lines if (x.participant, x.measure) == ("A", "employment_13w"))
    assert a.amount == Decimal("1200.00")
    assert "as varied from 2020-01-01" in s.explain(a.line)


@pytest.mark.parametrize(("fields", "match"), [
    ({"prices": {}}, r"prices: a rate card needs a price"),
    ({"prices": {"employment_13w": -1}}, r"negative"),
    ({"prices": {"employment_13w": 1}, "outcome_caps": {"qualification": 1}},
     r"outcome_caps: 'qualification' has no price"),
    ({"prices": {"employment_13w": 1}, "outcome_caps": {"employment_13w": -1}},
     r"a whole number >= 0"),
    ({"prices": {"employment_13w": 1, "qualification": 2},
      "exclusive": [["employment_13w"]]}, r"fewer than two"),
    ({"prices": {"employment_13w": 1}, "exclusive": [["employment_13w", "x"]]},
     r"\['x'\] have no price"),
    ({"prices": {"employment_13w": 1}, "subgroup": {"sex": []}}, r"subgroup"),
    ({"prices": {"employment_13w": 1}, "ring_fenced": 10, "cap": 20},
     r"exceeds component 'c'.ring_fenced"),
    ({"prices": {"employment_13w": 1}, "measure": "binary_rate"},
     r"a rate_card component does not use measure"),
    ({"prices": {"employment_13w": 1}, "participant_cap": -5}, r"must not be negative"),
])
def test_bad_rate_cards(fields: dict[str, object], match: str) -> None:
    with pytest.raises(ContractError, match=match):
        Component("c", "rate_card", **fields)  # type: ignore[arg-type]


def test_rate_card_money_on_the_rounding_grid() -> None:
    card = Component("card", "rate_card", prices={"employment_13w": "100.005"})
    with pytest.raises(ContractError, match=r"prices.employment_13w: 100.005 has more than 2"):
        Contract("x", components=(card,))
    capped = Component("card", "rate_card", prices={"employment_13w": 100},
                       participant_cap="50.001")
    with pytest.raises(ContractError, match=r"participant_cap: 50.001 has more than 2"):
        Contract("x", components=(capped,))


def test_a_rate_card_is_no_hurdle() -> None:
    card = Component("card", "rate_card", prices={"employment_13w": 100})
    linear = Component("b", "linear", measure="binary_rate", basis="points", price=1,
                       hurdle="card")
    with pytest.raises(ContractError, match=r"'card' is a rate card, paid per outcome claim"):
        Contract("x", components=(card, linear))


def test_refusals() -> None:
    c = _contract()
    with pytest.raises(ContractError, match=r"rate cards, paid on outcome events; give events="):
        pay(c, [Outcome("2020", "binary_rate", actual=40, comparator=45, n=100)])
    with pytest.raises(ContractError, match=r"expected a pbr.outcomes.OutcomeAssessment"):
        pay(c, events=_events())  # type: ignore[arg-type]
    mixed = _contract(binary=True)
    with pytest.raises(ContractError, match=r"\['binary'\] are paid per cohort"):
        pay(mixed, events=assess(_events(), _participants()))
    plain = Contract("x", components=(Component("b", "linear", measure="binary_rate",
                                                basis="points", price=1),))
    with pytest.raises(ContractError, match=r"no rate_card component"):
        pay(plain, [Outcome("2020", "binary_rate", actual=40, comparator=45, n=100)],
            events=assess(_events(), _participants()))
    # participants in a cohort the contract does not list
    people = Participants.from_frame(pl.DataFrame({
        "participant_id": ["A"], "start_date": [D(2020, 1, 1)], "cohort": ["2020 Q1"]}))
    one = OutcomeEvents.from_frame(_events().data.filter(pl.col("participant_id") == "A")
                                   .drop("row"))
    with pytest.raises(ContractError, match=r"participants.cohort: cohort label"):
        pay(c, events=assess(one, people))


def test_claims_nobody_pays_are_noted() -> None:
    c = Contract.from_toml(TOML.replace("{binary}", "").replace("{limits}", "")
                           .replace("qualification = 500.00\n", "")
                           .replace('outcome_caps = { qualification = 1 }\n', "")
                           .replace('exclusive = [["employment_13w", "qualification"]]\n', ""))
    s = pay(c, events=assess(_events(), _participants()))
    assert "outcome events: 2 claim(s) of qualification priced by no rate_card component " \
           "(not paid)" in s.notes
    assert all(x.measure != "qualification" for x in s.lines)


def test_same_inputs_same_statement() -> None:
    a = pay(_contract(), events=assess(_events(), _participants()))
    shuffled = OutcomeEvents.from_frame(_events().data.reverse().drop("row"))
    b = pay(_contract(), events=assess(shuffled, _participants()))
    assert [(x.participant, x.measure, x.amount) for x in a.lines] == \
        [(x.participant, x.measure, x.amount) for x in b.lines]
    assert str(a) == str(pay(_contract(), events=assess(_events(), _participants())))


def test_run_contract_with_outcome_events() -> None:
    data = pbr.synth.generate(300, seed=1)
    cohort = data.cohort
    frame = cohort if isinstance(cohort, pl.DataFrame) else pl.from_pandas(cohort)
    first = frame.sort("offender_id").head(2)
    ids = [str(i) for i in first["offender_id"].to_list()]
    starts = first["index_date"].to_list()
    ev = OutcomeEvents.from_frame(pl.DataFrame({
        "participant_id": ids, "outcome_type": ["employment_13w", "employment_13w"],
        "date_achieved": [s + dt.timedelta(weeks=14) for s in starts],
        "evidence_ref": ["R1", None], "evidence_type": ["payslip", "payslip"],
        "verified": [True, True]}))
    c = Contract.from_toml('''
[contract]
name = "mixed"
[comparator]
values = {binary_rate = 40.0}
[[component]]
name = "binary"
kind = "linear"
measure = "binary_rate"
basis = "points"
price = 1000
clawback = true
[[component]]
name = "jobs"
kind = "rate_card"
prices = { employment_13w = 750.00 }
''')
    run = pbr.run_contract(c, data.cohort, data.events, outcome_events=ev)
    jobs = [x for x in run.statement.lines if x.component == "jobs"]
    assert [str(x.amount) for x in jobs] == ["750.00", "0.00"]
    assert jobs[1].rule == "not paid: no evidence reference (O3)"
    assert run.statement.total == sum(x.amount for x in run.statement.lines)
    assert "outcome_events" in run.statement.provenance
    with pytest.raises(ContractError, match=r"give outcome_events="):
        pbr.run_contract(c, data.cohort, data.events)


def test_cli_pay_with_outcome_events_and_verify(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pbr.cli import app

    files = pbr.io.write_synth(pbr.synth.generate(200, seed=3), tmp_path)
    cohort = pl.read_parquet(files["cohort"]).sort("offender_id").head(2)
    claims = tmp_path / "claims.csv"
    rows = ["participant_id,outcome_type,date_achieved,evidence_ref,evidence_type,verified"]
    for i, (pid, start) in enumerate(zip(cohort["offender_id"], cohort["index_date"],
                                         strict=True)):
        day = start + dt.timedelta(weeks=14)
        rows.append(f"{pid},employment_13w,{day},R{i},payslip,{'true' if i == 0 else 'no'}")
    claims.write_text("\n".join(rows) + "\n")
    contract = tmp_path / "contract.toml"
    contract.write_text('''
[contract]
name = "mixed"
[comparator]
values = {binary_rate = 40.0}
[[component]]
name = "binary"
kind = "linear"
measure = "binary_rate"
basis = "points"
price = 1000
clawback = true
[[component]]
name = "jobs"
kind = "rate_card"
prices = { employment_13w = 750.00 }
''')
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["pay", str(contract), "--cohort", str(files["cohort"]),
                                   "--events", str(files["events"]), "--outcome-events",
                                   str(claims), "--out", str(out)])
    assert res.exit_code == 0, res.output
    lines = pl.read_csv(out / "statement.csv", infer_schema_length=0)
    jobs = lines.filter(pl.col("component") == "jobs")
    assert jobs["amount"].to_list() == ["750.00", "0.00"]
    assert jobs["participant"].to_list() == [str(i) for i in cohort["offender_id"]]
    assert jobs["evidence"].to_list()[1] == "payslip R1, not verified"
    from pbr.io.manifest import read_manifest

    assert [r for r, _, _ in read_manifest(out)[1].inputs] == [
        "contract", "cohort", "events", "outcome_events"]
    assert pbr.verify(out).ok
    claims.write_text("\n".join(rows[:2]) + "\n")     # an edited claims file is caught
    assert not pbr.verify(out).ok
    bad = CliRunner().invoke(app, ["pay", str(contract), "--cohort", str(files["cohort"]),
                                   "--events", str(files["events"]), "--participants",
                                   str(claims), "--out", str(tmp_path / "o2")])
    assert bad.exit_code != 0 and "--outcome-events" in bad.output


def test_cli_rate_cards_alone(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pbr.cli import app

    contract = tmp_path / "contract.toml"
    contract.write_text(TOML.replace("{binary}", "").replace("{limits}", "")
                        .replace("[comparator]\nvalues = { binary_rate = 45.0 }\n", ""))
    people = tmp_path / "people.csv"
    people.write_text("participant_id,start_date,cohort,sex\nA,2020-01-01,2020,M\n"
                      "B,2020-01-01,2020,M\nC,2020-01-01,2020,F\nD,2020-01-01,2020,F\n")
    claims = tmp_path / "claims.csv"
    _events().data.drop("row").write_csv(claims)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["pay", str(contract), "--outcome-events", str(claims),
                                   "--participants", str(people), "--out", str(out)])
    assert res.exit_code == 0, res.output
    doc = pl.read_csv(out / "statement.csv", infer_schema_length=0)
    assert doc["amount"].to_list() == ["1500.00", "1000.00", "500.00", "0.00", "500.00",
                                       "0.00", "500.00", "0.00"]
    check = pbr.verify(out)
    assert check.ok, str(check)
    people.write_text("participant_id,start_date,cohort,sex\nA,2020-01-01,2020,M\n")
    assert not pbr.verify(out).ok
    res = CliRunner().invoke(app, ["pay", str(contract), "--outcome-events", str(claims),
                                   "--out", str(tmp_path / "o2")])
    assert res.exit_code != 0 and "participants" in res.output
    # the same claims and participants from a database: the same statement, the reads
    # recorded in the manifest, verified
    import sqlite3

    people.write_text("participant_id,start_date,cohort,sex\nA,2020-01-01,2020,M\n"
                      "B,2020-01-01,2020,M\nC,2020-01-01,2020,F\nD,2020-01-01,2020,F\n")
    db = tmp_path / "claims.db"
    with sqlite3.connect(db) as con:
        for name, path in (("claims", claims), ("people", people)):
            frame = pl.read_csv(path, infer_schema=False)
            cols = ", ".join(f'"{c}" TEXT' for c in frame.columns)
            con.execute(f"CREATE TABLE {name} ({cols})")
            con.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * frame.width)})",
                            frame.rows())
    uri = f"sqlite:///{db}?table="
    res = CliRunner().invoke(app, ["pay", str(contract), "--outcome-events", uri + "claims",
                                   "--participants", uri + "people", "--out",
                                   str(tmp_path / "db")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "db" / "statement.csv").read_bytes() == \
        (out / "statement.csv").read_bytes()
    manifest = (tmp_path / "db" / "manifest.json").read_text(encoding="utf-8")
    assert '"outcome_events_source"' in manifest and '"participants_source"' in manifest
    assert pbr.verify(tmp_path / "db").ok


def test_contract_paid_on_the_employment_rate_of_a_measured_cohort() -> None:
    """A linear component on employment_rate (higher is better) in a measured run: the
    valid 13-week job claims of three members of the first cohort give its rate."""
    data = pbr.synth.generate(300, seed=1)
    frame = data.cohort if isinstance(data.cohort, pl.DataFrame) else \
        pl.from_pandas(data.cohort)
    first = sorted(set(frame["cohort_period"].to_list()))[0]
    members = frame.filter(pl.col("cohort_period") == first).sort("offender_id")
    n = members.height
    three = members.head(3)
    ev = OutcomeEvents.from_frame(pl.DataFrame({
        "participant_id": [str(i) for i in three["offender_id"]],
        "outcome_type": ["employment_13w"] * 3,
        "date_achieved": [s + dt.timedelta(weeks=13) for s in three["index_date"]],
        "evidence_ref": ["R1", "R2", "R3"], "evidence_type": ["hmrc_rti"] * 3,
        "verified": [True] * 3}))
    c = Contract.from_toml('''
[contract]
name = "jobs"
[comparator]
values = {employment_rate = 0.5}
[[component]]
name = "jobs"
kind = "linear"
measure = "employment_rate"
basis = "avoided"
price = 100
''')
    run = pbr.run_contract(c, data.cohort, data.events, outcome_events=ev)
    o = next(x for x in run.outcomes if x.cohort == first)
    assert dict(o.counts)["employed"] == "3" and o.n == n
    assert o.actual == (Decimal(300) / n).quantize(Decimal("0.000001"))
    line = next(x for x in run.statement.lines if x.cohort == first)
    # (actual - 0.5) x n / 100 additional participants employed, x 100
    assert line.amount == ((o.actual - Decimal("0.5")) * n).quantize(Decimal("0.01"))
    assert line.amount > 0
    others = [x for x in run.statement.lines if x.cohort != first]
    assert others and all(x.amount == 0 for x in others)   # 0% employed: no increase
    with pytest.raises(ContractError, match=r"needs the outcome events"):
        pbr.run_contract(c, data.cohort, data.events)
    clash = frame.with_columns(pl.lit(True).alias("employed"))
    with pytest.raises(ContractError, match=r"column 'employed' is already in the cohort"):
        pbr.run_contract(c, clash, data.events, outcome_events=ev)


# ---------------------------------------------------------------- issue 21: subgroups
WOMEN = '''
[contract]
name = "with a women's service"
[comparator]
values = { binary_rate = 45.0 }
[[component]]
name = "binary"
kind = "linear"
measure = "binary_rate"
basis = "points"
price = 100.00
[[component]]
name = "women"
kind = "linear"
measure = "binary_rate"
basis = "points_per_offender"
price = 10.00
subgroup = { sex = ["F"] }
'''


def test_subgroup_component_paid_on_the_subgroups_outcome() -> None:
    """binary: (45 - 40) x 100 = 500 on the whole cohort; women: (45 - 35) points x 20
    women x 10 = 2000 on the women's outcome alone."""
    c = Contract.from_toml(WOMEN)
    assert c.components[1].subgroup_label == "sex=F"
    assert Contract.from_toml(c.to_toml()) == c
    s = pay(c, [Outcome("Q1", "binary_rate", actual=40, comparator=45, n=100),
                Outcome("Q1", "binary_rate", actual=35, comparator=45, n=20,
                        subgroup="sex=F")])
    assert s.totals("component") == {"binary": Decimal("500.00"),
                                     "women": Decimal("2000.00")}
    assert "subgroup sex=F: the outcome of the cohort's 20 members in it" in s.explain("L2")
    with pytest.raises(ContractError, match=r"needs measure 'binary_rate' of subgroup 'sex=F'"):
        pay(c, [Outcome("Q1", "binary_rate", actual=40, comparator=45, n=100)])
    with pytest.raises(ContractError, match=r"does not use subgroup"):
        Component("fee", "fee", amount=1, subgroup={"sex": ["F"]})


def test_subgroup_component_in_a_measured_run() -> None:
    data = pbr.synth.generate(400, seed=2)
    c = Contract.from_toml(WOMEN)
    run = pbr.run_contract(c, data.cohort, data.events)
    frame = data.cohort if isinstance(data.cohort, pl.DataFrame) else \
        pl.from_pandas(data.cohort)
    women = {o.cohort: o for o in run.outcomes if o.subgroup == "sex=F"}
    everyone = {o.cohort: o for o in run.outcomes if o.subgroup is None}
    assert women and set(women) == set(everyone)
    for label, o in women.items():
        members = frame.filter((pl.col("cohort_period") == label) & (pl.col("sex") == "F"))
        assert o.n == members.height < everyone[label].n
    reoffended = run.result.frame.filter(pl.col("sex") == "F").group_by("cohort_period").agg(
        pl.col("reoffended").sum())
    for label, k in reoffended.iter_rows():
        assert women[label].actual == (Decimal(k * 100) / women[label].n).quantize(
            Decimal("0.000001"))
    bad = Contract.from_toml(WOMEN.replace('subgroup = { sex = ["F"] }',
                                           'subgroup = { gender = ["F"] }'))
    with pytest.raises(ContractError, match=r"column 'gender' is not in the cohort"):
        pbr.run_contract(bad, data.cohort, data.events)


def test_subgroup_outcomes_published_in_a_file(tmp_path: Path) -> None:
    from pbr.audit import pay_outcomes
    from pbr.io.results import read_outcomes, write_outcomes

    given = [Outcome("Q1", "binary_rate", actual=40, comparator=45, n=100),
             Outcome("Q1", "binary_rate", actual=35, comparator=45, n=20, subgroup="sex=F")]
    path = write_outcomes(given, tmp_path / "outcomes.csv")
    assert read_outcomes(path) == tuple(given)
    statement, _ = pay_outcomes(Contract.from_toml(WOMEN), path, tmp_path / "out")
    assert statement.total == Decimal("2500.00")
    assert pbr.verify(tmp_path / "out").ok


def test_simulation_refuses_rate_cards_and_subgroups() -> None:
    from pbr.simulate import Population, simulate

    pop = Population.synthetic(areas=1, cohorts=1, size=100, seed=1)
    binary = Component("b", "linear", measure="binary_rate", basis="points", price=1)
    for extra in (Component("card", "rate_card", prices={"employment_13w": 1}),
                  Component("w", "linear", measure="binary_rate", basis="points", price=1,
                            subgroup={"sex": ["F"]})):
        with pytest.raises(ContractError, match=r"is not simulated"):
            simulate(Contract("x", components=(binary, extra)), pop, n_sims=10)


CUSTOM = '''
[contract]
name = "with a 52-week job"
[[outcome]]
name = "employment_52w"
title = "employment sustained 52 weeks"
evidence = ["hmrc_rti"]
sustained_weeks = 52
window_days = 1000
requires = ["employment_26w"]
[[component]]
name = "card"
kind = "rate_card"
prices = { employment_13w = 1000.00, employment_26w = 500.00, employment_52w = 250.00 }
'''


def test_contract_defines_its_own_outcomes(tmp_path: Path) -> None:
    c = Contract.from_toml(CUSTOM)
    assert Contract.from_toml(c.to_toml()) == c
    assert c.outcome_types()["employment_52w"].requires == ("employment_26w",)
    people = tmp_path / "people.csv"
    people.write_text("participant_id,start_date\nA,2020-01-01\n")
    claims = tmp_path / "claims.csv"
    claims.write_text(
        "participant_id,outcome_type,date_achieved,evidence_ref,evidence_type,verified\n"
        "A,employment_13w,2020-04-01,R1,hmrc_rti,true\n"
        "A,employment_26w,2020-07-01,R2,hmrc_rti,true\n"
        "A,employment_52w,2020-12-30,R3,hmrc_rti,true\n"
        "A,employment_52w,2021-01-05,R4,payslip,true\n")
    contract = tmp_path / "contract.toml"
    contract.write_text(CUSTOM)
    from pbr.audit import pay_claims
    statement, _ = pay_claims(contract, claims, people, tmp_path / "out")
    got = [(x.measure, str(x.amount), x.rule) for x in statement.lines]
    assert got == [("employment_13w", "1000.00", "rate card 1000.00 per employment_13w"),
                   ("employment_26w", "500.00", "rate card 500.00 per employment_26w"),
                   ("employment_52w", "250.00", "rate card 250.00 per employment_52w"),
                   ("employment_52w", "0.00", "not paid: evidence type not accepted (O4)")]
    assert pbr.verify(tmp_path / "out").ok
    # claims assessed without the contract's definitions are refused
    from pbr.outcomes import STANDARD, OutcomeDefinition
    other = OutcomeDefinition("employment_52w", "x", ("payslip",), sustained_weeks=52)
    ev = OutcomeEvents.from_frame(pl.read_csv(claims, infer_schema_length=0),
                                  outcome_types=[*STANDARD.values(), other])
    p = Participants.from_frame(pl.read_csv(people, infer_schema_length=0))
    with pytest.raises(ContractError, match=r"assessed without the contract's definition"):
        pay(c, events=assess(ev, p, outcome_types=[*STANDARD.values(), other]))


@pytest.mark.parametrize(("text", "match"), [
    (CUSTOM.replace("employment_52w = 250.00", "employment_52wk = 250.00"),
     r"prices: \['employment_52wk'\] are not defined outcome types"),
    (CUSTOM.replace('requires = ["employment_26w"]', 'requires = ["employment_39w"]'),
     r"outcome: outcome definition 'employment_52w'.requires: \['employment_39w'\] not "
     r"defined"),
    (CUSTOM.replace('evidence = ["hmrc_rti"]', 'evidence = ["photo"]'),
     r"unknown evidence type"),
    (CUSTOM.replace('title = "employment sustained 52 weeks"\n', ""),
     r"outcome 'employment_52w'.title: missing"),
    (CUSTOM.replace("window_days = 1000", "window_days = 1000\nprice = 3"),
     r"outcome: unknown key\(s\) price"),
])
def test_bad_outcome_tables(text: str, match: str) -> None:
    with pytest.raises(ContractError, match=match):
        Contract.from_toml(text)


def test_cli_names_a_bad_claims_row(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pbr.cli import app

    contract = tmp_path / "contract.toml"
    contract.write_text(CUSTOM)
    people = tmp_path / "people.csv"
    people.write_text("participant_id,start_date\nA,2020-01-01\n")
    claims = tmp_path / "claims.csv"
    claims.write_text(
        "participant_id,outcome_type,date_achieved,evidence_ref,evidence_type,verified\n"
        "A,employment_13w,01/04/2020,R1,hmrc_rti,true\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["pay", str(contract), "--outcome-events", str(claims),
                                   "--participants", str(people), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "date_achieved: row 0 holds '01/04/2020', not a date" in " ".join(res.output.split())
    assert not out.exists()
