"""Bad inputs to contracts and payments, through the API (``Contract.from_toml``,
``pay``, ``run_contract``, ``PaymentLedger``).

Each row is one plausible mistake with the error class it must give and a regex on the
message naming the field(s), the value and the fix: cohort labels the contract does not
list, contradictory terms, rates in the wrong unit, windows that have not closed, caps
across runs (docs/methodology/payments.md, "What pbr refuses and why").  None of these
calls writes a file.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import pbr
from pbr.contract import Contract, Outcome, pay, run_contract
from pbr.errors import ContractError, ProvisionalWarning
from pbr.io import read_ledger

D = Decimal
DATA = pbr.synth.generate(200, seed=1)

COHORTS = '''
[cohorts]
column = "cohort_period"
period = [
    { name = "2019Q1", start = 2019-01-01, year = "2019" },
    { name = "2019Q2", start = 2019-04-01, year = "2019" },
    { name = "2019Q3", start = 2019-07-01, year = "2019" },
    { name = "2019Q4", start = 2019-10-01, year = "2019" },
]
'''
HEAD = '''
[contract]
name = "bad inputs"
'''
COMPARATOR = '''
[comparator]
values = { binary_rate = 28.0 }
'''
BINARY = '''
[[component]]
name = "binary"
kind = "linear"
measure = "binary_rate"
basis = "points"
price = 1000.00
clawback = true
'''
BASE = HEAD + COHORTS + COMPARATOR + BINARY


def toml(*, head: str = "", cohorts: str | None = None, comparator: str | None = None,
         component: str = "", extra: str = "", binary: str | None = None) -> str:
    """The base contract with parts replaced or added."""
    return (HEAD + head + (COHORTS if cohorts is None else cohorts)
            + (COMPARATOR if comparator is None else comparator)
            + (BINARY if binary is None else binary) + component + extra)


def varied(*rows: tuple[str, str, str]) -> str:
    return "".join(f'\n[[variation]]\neffective = {d}\ncomponent = "binary"\nset = {{ {s} }}\n'
                   + (f'note = "{n}"\n' if n else "") for d, s, n in rows)


NO_PERIODS = '\n[cohorts]\ncolumn = "cohort_period"\n'
TIERED = '''
[[component]]
name = "tiers"
kind = "tiered"
measure = "binary_rate"
'''

# (id, contract TOML, regex on the ContractError's message)
TOML_CASES: list[tuple[str, str, str]] = [
    ("negative_price", toml(binary=BINARY.replace("1000.00", "-1000.00")),
     r"component 'binary'\.price: must not be negative, got -1000\.00; write the price as "
     r"a positive amount"),
    ("negative_component_cap", toml(binary=BINARY + "cap = -5.00\n"),
     r"component 'binary'\.cap: must not be negative, got -5\.00; .*negative floor"),
    ("component_floor_above_cap", toml(binary=BINARY + "cap = 10.00\nfloor = 20.00\n"),
     r"component 'binary'\.floor: 20\.00 exceeds component 'binary'\.cap \(10\.00\)"),
    ("year_cap_below_floor", toml(extra="[limits]\nyear_cap = 100.00\nyear_floor = 200.00\n"),
     r"limits\.year_floor \(200\.00\) exceeds limits\.year_cap \(100\.00\).*lower the floor"),
    ("floor_and_cap_with_no_payable_amount_between_them",
     toml(extra="[limits]\ntotal_cap = 0.04\ntotal_floor = 0.01\n[rounding]\nplaces = 0\n"),
     r"limits\.total_floor \(0\.01\) exceeds limits\.total_cap \(0\.04\) once payments are "
     r"rounded to 0 decimal place\(s\).*floor rounds up to 1, the cap down to 0"),
    ("cohort_floor_over_year_cap_at_the_rounding",
     toml(extra="[limits]\nyear_cap = 10.40\ncohort_floor = 10.30\n[rounding]\nplaces = 0\n"),
     r"limits\.cohort_floor \(10\.30\) exceeds limits\.year_cap \(10\.40\) once payments"),
    ("negative_total_cap", toml(extra="[limits]\ntotal_cap = -1.00\n"),
     r"limits\.total_cap: -1\.00 is negative.*negative floor, e\.g\. total_floor"),
    ("cohort_floor_above_total_cap",
     toml(extra="[limits]\ncohort_floor = 500.00\ntotal_cap = 100.00\n"),
     r"limits\.cohort_floor \(500\.00\) exceeds limits\.total_cap \(100\.00\)"),
    ("negative_significance_z",
     toml(comparator=COMPARATOR + "significance_z = -1.96\n"),
     r"comparator\.significance_z: -1\.96 must be a positive multiplier.*1\.96"),
    ("negative_on_account", toml(extra='[on_account]\n"2019Q1" = -10.00\n'),
     r"on_account '2019Q1'\.amount: -10\.00 is negative"),
    ("on_account_unknown_cohort", toml(extra='[on_account]\n"2019 Q1" = 10.00\n'),
     r"on_account '2019 Q1': no cohort of that name; did you mean '2019Q1'\? the cohorts are"),
    ("two_variations_same_field_same_day",
     toml(extra=varied(("2019-07-01", "price = 800.00", "a"),
                       ("2019-07-01", "price = 900.00", "b"))),
     r"variation 2019-07-01\.set\.price = 900\.00 and variation 2019-07-01\.set\.price = "
     r"800\.00 both set component 'binary'\.price from the same date; keep one of them"),
    ("year_cap_without_cohorts", toml(cohorts=NO_PERIODS, extra="[limits]\nyear_cap = 1.00\n"),
     r"limits\.year_cap needs the contract's cohorts: list them under \[cohorts\]"),
    ("variation_without_cohorts",
     toml(cohorts=NO_PERIODS, extra=varied(("2019-07-01", "price = 800.00", ""))),
     r"variation 2019-07-01 needs the contract's cohorts"),
    ("on_account_without_cohorts",
     toml(cohorts=NO_PERIODS, extra='[on_account]\n"2019Q1" = 10.00\n'),
     r"on_account '2019Q1' needs the contract's cohorts"),
    ("year_cap_period_without_year",
     toml(cohorts=COHORTS.replace(', year = "2019" },\n    { name = "2019Q3"',
                                  ' },\n    { name = "2019Q3"'),
          extra="[limits]\nyear_cap = 1.00\n"),
     r"limits\.year_cap: cohort\(s\) \['2019Q2'\] have no contract year; add year"),
    ("variation_period_without_start",
     toml(cohorts=COHORTS.replace('start = 2019-04-01, ', ''),
          extra=varied(("2019-07-01", "price = 800.00", ""))),
     r"cohort\(s\) \['2019Q2'\] have no start date.*add start = YYYY-MM-DD"),
    ("comparator_cohort_values_unknown_label",
     toml(comparator=COMPARATOR + '[comparator.cohorts."2019 Q3"]\nbinary_rate = 30.0\n'),
     r"comparator\.cohorts\.'2019 Q3': no cohort of that name; did you mean '2019Q3'"),
    ("pooled_over_unknown_cohort",
     toml(binary=BINARY + 'trigger = "relative"\nthreshold = 10\npooled_threshold = 7.5\n'
          'pooled_over = ["2019Q1", "2019Q5"]\n'),
     r"component 'binary'\.pooled_over: no cohort '2019Q5'"),
    ("baseline_as_proportion", toml(comparator="[comparator]\nvalues = { binary_rate = 0.28 }\n"),
     r"comparator\.values\.binary_rate: 0\.28 reads as a proportion, but rates are in percent "
     r"\(rate_unit = \"percent\"\): write 28\.00 for 28\.00%"),
    ("baseline_over_100", toml(comparator="[comparator]\nvalues = { binary_rate = 280.0 }\n"),
     r"comparator\.values\.binary_rate: 280\.0 is over 100; rates are in percent"),
    ("baseline_negative",
     toml(comparator="[comparator]\nvalues = { binary_rate = 28.0, per_reoffender = -3.0 }\n"),
     r"comparator\.values\.per_reoffender: -3\.0 is negative"),
    ("baseline_risk_as_proportion",
     toml(comparator='[comparator]\nkind = "casemix"\nvalues = { binary_rate = 28.0 }\n'
          'risk_column = "true_risk"\nbaseline_risk = 0.28\n'),
     r"comparator\.baseline_risk: 0\.28 reads as a proportion.*write 28\.00"),
    ("rate_unit_proportion", toml(head='rate_unit = "proportion"\n'),
     r"contract\.rate_unit: 'proportion' is not supported.*rate_unit = \"percent\""),
    ("provisional_not_a_boolean", toml(head='provisional = "yes"\n'),
     r"contract\.provisional: expected true or false, got 'yes'"),
    ("threshold_without_its_trigger", toml(binary=BINARY + "threshold = 5\n"),
     r"component 'binary'\.threshold: threshold = 5 is given but component "
     r"'binary'\.trigger is 'none'.*trigger = \"relative\""),
    ("relative_threshold_over_100",
     toml(binary=BINARY + 'trigger = "relative"\nthreshold = 150\n'),
     r"component 'binary'\.threshold: 150 is outside 0 to 100 \(percent of the comparator\)"),
    ("negative_absolute_threshold",
     toml(binary=BINARY + 'trigger = "absolute"\nthreshold = -5\n'),
     r"component 'binary'\.threshold: -5 is outside 0 to 100 \(points"),
    ("share_over_one",
     toml(component='[[component]]\nname = "risk"\nkind = "at_risk"\nmeasure = "binary_rate"\n'
          'trigger = "absolute"\nthreshold = 5\nvalue = 1000.00\nshare = 1.5\n'),
     r"component 'risk'\.share: must lie in \[0, 1\], got 1\.5"),
    ("tier_amounts_fall",
     toml(component=TIERED + "tiers = [[5, 200.00], [10, 100.00]]\n"),
     r"component 'tiers'\.tiers: amounts must not fall as the reduction rises, got 200\.00 at "
     r"5% then 100\.00 at 10%"),
    ("tier_reduction_over_100",
     toml(component=TIERED + "tiers = [[5, 100.00], [150, 200.00]]\n"),
     r"component 'tiers'\.tiers: reduction 150 is outside 0 to 100"),
    ("tiers_not_increasing",
     toml(component=TIERED + "tiers = [[10, 100.00], [10, 200.00]]\n"),
     r"component 'tiers'\.tiers: reductions must increase, got 10 then 10"),
    ("field_the_kind_ignores", toml(binary=BINARY + "share = 0.1\n"),
     r"component 'binary'\.share: a linear component does not use share \(it would be "
     r"ignored\).*\(at_risk\)"),
    ("comparator_field_the_kind_ignores",
     toml(comparator=COMPARATOR + 'risk_column = "true_risk"\n'),
     r"comparator\.risk_column: a 'baseline' comparator does not use risk_column.*'casemix'"),
    ("variation_renames_a_component",
     toml(extra=varied(("2019-07-01", 'name = "other"', ""))),
     r"variation 2019-07-01\.set\.name: a variation cannot change a component's name"),
    ("variations_contradict_when_combined",
     toml(extra=varied(("2019-04-01", "cap = 100.00", ""), ("2019-07-01", "floor = 200.00", ""))),
     r"variations in force from 2019-07-01: component 'binary'\.floor: 200\.00 exceeds "
     r"component 'binary'\.cap \(100\.00\)"),
    ("price_out_of_range", toml(binary=BINARY.replace("1000.00", "1e20")),
     r"component 'binary'\.price: 1E\+20 is too large \(at most 999999999999999\)"),
    ("negative_fee",
     toml(component='[[component]]\nname = "fee"\nkind = "fee"\namount = -50.00\n'),
     r"component 'fee'\.amount: must not be negative, got -50\.00"),
    ("negative_volume_band",
     toml(component='[[component]]\nname = "fee"\nkind = "fee"\namount = 50.00\nband_low = -1\n'
          'band_high = 10\nband_price = 1.00\n'),
     r"component 'fee'\.band_low: a number of offenders \(an integer >= 0\), got -1"),
]


@pytest.mark.parametrize(("text", "match"), [c[1:] for c in TOML_CASES],
                         ids=[c[0] for c in TOML_CASES])
def test_contract_toml_is_refused(text: str, match: str) -> None:
    with pytest.raises(ContractError, match=match):
        Contract.from_toml(text)


# ----------------------------------------------------------------------------- pay()
CONTRACT = Contract.from_toml(BASE + '[on_account]\n"2019Q1" = 10000.00\n')
PROVISIONAL = Contract.from_toml(toml(head="provisional = true\n"))
POOLED = Contract.from_toml(toml(binary=BINARY + 'trigger = "relative"\nthreshold = 10\n'
                                 'pooled_threshold = 7.5\npooled_over = ["2019Q1", "2019Q2"]\n'))


def rate(cohort: str = "2019Q1", actual: Any = "25.0", comparator: Any = "28.0",
         n: Any = 1000, **kw: Any) -> Outcome:
    return Outcome(cohort, "binary_rate", actual=actual, comparator=comparator, n=n, **kw)


#: the ledger file a case reads (written before the call, as the user's input)
LEDGER_HEAD = "cohort,year,component,amount,kind\n"
LEDGERS = {
    "ledger_file_missing_column": "cohort,year,component,amount\n2019Q1,2019,binary,10.00\n",
    "ledger_amount_not_a_number": LEDGER_HEAD + "2019Q1,2019,binary,abc,component\n",
    "ledger_unknown_kind": LEDGER_HEAD + "2019Q1,2019,binary,1.00,payment\n",
    "ledger_on_account_differs": LEDGER_HEAD + "2019Q1,2019,on account,-5000.00,on_account\n",
    "ledger_year_differs": LEDGER_HEAD + "2019Q1,2020,binary,10.00,component\n",
}


CONTRACT_FREQ = Contract.from_toml(BASE.replace('measure = "binary_rate"',
                                               'measure = "per_offender"'))
PAID_Q1 = pay(CONTRACT, [rate()])
with pytest.warns(ProvisionalWarning, match="provisional: lines L1 rest on follow-up windows"):
    PROVISIONAL_Q1 = pay(PROVISIONAL, [rate(provisional=True)])

# (id, call(tmp_path), regex on the ContractError's message)
PAY_CASES: list[tuple[str, Callable[[Path], Any], str]] = [
    ("outcome_for_an_unlisted_cohort", lambda _: pay(CONTRACT, [rate("2019 Q1")]),
     r"outcomes: cohort label\(s\) \['2019 Q1'\] are not cohorts of the contract "
     r"\(cohorts\.period lists \['2019Q1', .*did you mean '2019Q1'\?.*Fix: relabel"),
    ("no_outcomes", lambda _: pay(CONTRACT, []),
     r"outcomes: none given, so there is nothing to pay"),
    ("negative_actual_rate", lambda _: pay(CONTRACT, [rate(actual="-3.0")]),
     r"outcome '2019Q1' binary_rate\.actual: -3\.0 is negative"),
    ("cohort_of_nobody", lambda _: pay(CONTRACT, [rate(n=0)]),
     r"outcome '2019Q1' binary_rate\.n: the cohort size must be an integer from 1 to "
     r"1,000,000,000, got 0; a cohort with nobody in it"),
    ("denominator_above_n", lambda _: pay(CONTRACT, [rate(base_n=2000)]),
     r"outcome '2019Q1' binary_rate\.base_n: the denominator must be an integer from 0 to n "
     r"\(1,000\), got 2000"),
    ("rate_over_100", lambda _: pay(CONTRACT, [rate(actual="250")]),
     r"outcome '2019Q1' binary_rate\.actual: 250 is over 100; rates are in percent"),
    ("comparator_as_proportion", lambda _: pay(CONTRACT, [rate(actual="0.25",
                                                                comparator="0.28")]),
     r"outcome '2019Q1' binary_rate\.comparator: 0\.28 reads as a proportion.*give 28\.00"),
    ("actual_as_proportion", lambda _: pay(CONTRACT, [rate(actual="0.25")]),
     r"outcome '2019Q1' binary_rate\.actual: 0\.25 against a comparator of 28\.0 reads as a "
     r"proportion.*give 25\.00"),
    ("outcome_per_offender_typed_per_100",
     lambda _: pay(CONTRACT_FREQ, [Outcome("2019Q1", "per_offender", actual="0.8",
                                           comparator="155", n=1000)]),
     r"outcome '2019Q1' per_offender: actual 0\.8 against comparator 155 differ more than "
     r"50-fold, which reads as a unit slip.*per_100 per 100 offenders"),
    ("outcome_year_contradicts_the_contract", lambda _: pay(CONTRACT, [rate(year="2020")]),
     r"outcome '2019Q1' binary_rate\.year: 2020 differs from the contract's cohorts\.period "
     r"'2019Q1'\.year \(2019\)"),
    ("significance_trigger_without_thresholds",
     lambda _: pay(Contract.from_toml(toml(binary=BINARY + 'trigger = "significant"\n')),
                   [rate()]),
     r"component 'binary'\.trigger = \"significant\" needs the thresholds around the "
     r"comparator, but outcome '2019Q1' binary_rate has no lower and upper: set "
     r"comparator\.significance_z"),
    ("interval_upside_down", lambda _: pay(CONTRACT, [rate(lower="30", upper="26")]),
     r"outcome '2019Q1' binary_rate\.lower \(30\) exceeds outcome '2019Q1' "
     r"binary_rate\.upper \(26\)"),
    ("provisional_outcome_final_contract", lambda _: pay(CONTRACT, [rate(provisional=True)]),
     r"outcomes: cohort\(s\) \['2019Q1'\] rest on follow-up windows that have not closed.*"
     r"provisional = true under \[contract\]"),
    ("cohort_paid_twice", lambda _: pay(CONTRACT, [rate()], prior=[PAID_Q1]),
     r"outcomes: cohort\(s\) \['2019Q1'\] were already paid in an earlier statement \(prior\)"),
    ("provisional_lines_as_prior",
     lambda _: pay(PROVISIONAL, [rate("2019Q2")], prior=PROVISIONAL_Q1),
     r"prior entry 1 \(cohort '2019Q1', 'binary'\): a provisional line is an estimate"),
    ("prior_of_another_contract",
     lambda _: pay(CONTRACT, [rate("2019Q2")], prior=pay(Contract.from_toml(
         BASE.replace('name = "binary"', 'name = "events"')), [rate()])),
     r"prior entry 1 \(cohort '2019Q1', 'events'\): no component of that name in contract "
     r"'bad inputs'"),
    ("prior_statement_of_another_contract",
     lambda _: pay(CONTRACT, [rate("2019Q2")], prior=pay(Contract.from_toml(
         BASE.replace('name = "bad inputs"', 'name = "other"')), [rate()])),
     r"prior: the earlier statements are of contract 'other', not 'bad inputs'"),
    ("prior_statements_of_two_currencies",
     lambda _: pay(CONTRACT, [rate("2019Q3")], prior=[PAID_Q1, pay(Contract.from_toml(
         BASE.replace('name = "bad inputs"', 'name = "bad inputs"\ncurrency = "EUR"')),
         [rate("2019Q2")])]),
     r"prior: the statements are of different contracts or currencies "
     r"\[\('bad inputs', 'EUR'\), \('bad inputs', 'GBP'\)\]"),
    ("hurdle_on_a_fee", lambda _: Contract.from_toml(toml(
         component='[[component]]\nname = "fee"\nkind = "fee"\namount = 50.00\n'
                   '[[component]]\nname = "freq"\nkind = "linear"\nmeasure = "per_offender"\n'
                   'basis = "avoided"\nprice = 1.00\nhurdle = "fee"\n')),
     r"component 'freq'\.hurdle: 'fee' is a fee, which has no trigger to meet"),
    ("pooled_test_split_across_runs",
     lambda _: pay(POOLED, [rate("2019Q2")], prior=pay(POOLED, [rate()])),
     r"component 'binary'\.pooled_over: the pooled test over \['2019Q1', '2019Q2'\] needs all "
     r"of them in one run.*run the pooled cohorts together"),
    ("prior_is_a_path_string", lambda _: pay(CONTRACT, [rate()], prior="ledger.csv"),
     r"prior: give earlier PaymentStatement\(s\) or a PaymentLedger "
     r"\(pbr\.io\.read_ledger\(path\)"),
    ("ledger_file_missing_column",
     lambda t: read_ledger(t / "ledger.csv"),
     r"prior ledger\.csv: the ledger lacks column\(s\) \['kind'\]"),
    ("ledger_amount_not_a_number",
     lambda t: read_ledger(t / "ledger.csv"),
     r"prior ledger\.csv row 1\.amount: expected a number, got 'abc'"),
    ("ledger_unknown_kind",
     lambda t: read_ledger(t / "ledger.csv"),
     r"prior: entry 1 \(cohort '2019Q1'\) has kind 'payment'; use one of component"),
    ("ledger_file_absent", lambda t: read_ledger(t / "nope.csv"),
     r"prior: the ledger file '.*nope\.csv' does not exist"),
    ("ledger_on_account_differs",
     lambda t: pay(CONTRACT, [rate("2019Q2")], prior=read_ledger(t / "ledger.csv")),
     r"deducts 5000\.00 on account, but the contract's on_account for '2019Q1' is 10000\.00"),
    ("ledger_year_differs",
     lambda t: pay(CONTRACT, [rate("2019Q2")], prior=read_ledger(t / "ledger.csv")),
     r"prior entry 1 \(cohort '2019Q1', 'binary'\): year '2020', but the contract puts "
     r"cohort '2019Q1' in year '2019'"),
]


@pytest.mark.parametrize("case", PAY_CASES, ids=[c[0] for c in PAY_CASES])
def test_pay_is_refused(case: tuple[str, Callable[[Path], Any], str], tmp_path: Path) -> None:
    name, call, match = case
    if name in LEDGERS:
        (tmp_path / "ledger.csv").write_text(LEDGERS[name], encoding="utf-8")
    before = sorted(tmp_path.rglob("*"))
    snapshot = {p: p.read_bytes() for p in before if p.is_file()}
    with pytest.raises(ContractError, match=match):
        call(tmp_path)
    assert {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()} == snapshot


# ----------------------------------------------------------------------- run_contract
RUN = Contract.from_toml(BASE)
RUN_PROVISIONAL = Contract.from_toml(toml(head="provisional = true\n"))
CASEMIX = Contract.from_toml(toml(comparator='[comparator]\nkind = "casemix"\n'
                                  'values = { binary_rate = 28.0 }\nrisk_column = "true_risk"\n'
                                  'baseline_risk = 28.0\n'))
MATCHED = Contract.from_toml(toml(comparator='[comparator]\nkind = "matched"\n'
                                  'group_column = "treated"\nweight_column = "w"\n'))
COHORT, EVENTS = DATA.cohort, DATA.events
CUT = EVENTS.filter(pl.col("disposal_date") <= dt.date(2020, 6, 30))


def relabel(old: str, new: str | None) -> pl.DataFrame:
    return COHORT.with_columns(pl.when(pl.col("cohort_period") == old).then(pl.lit(new))
                               .otherwise(pl.col("cohort_period")).alias("cohort_period"))


RUN_CASES: list[tuple[str, Callable[[], Any], str]] = [
    ("data_label_not_in_contract", lambda: run_contract(RUN, relabel("2019Q1", "2019 Q1"),
                                                        EVENTS),
     r"cohorts\.column 'cohort_period' of the cohort file: cohort label\(s\) \['2019 Q1'\] "
     r"are not cohorts of the contract \(cohorts\.period lists \['2019Q1', '2019Q2', "
     r"'2019Q3', '2019Q4'\]\); '2019 Q1': did you mean '2019Q1'\?.*add the cohort"),
    ("empty_cohort_labels", lambda: run_contract(RUN, relabel("2019Q1", None), EVENTS),
     r"cohorts\.column: column 'cohort_period' of the cohort file has \d+ empty cohort "
     r"label\(s\)"),
    ("risk_scores_in_percent",
     lambda: run_contract(CASEMIX, COHORT.with_columns(pl.col("true_risk") * 100), EVENTS),
     r"comparator\.risk_column: column 'true_risk' ranges from 4\.8.* to 71\.8.*, but risk "
     r"scores are probabilities from 0 to 1 \(it looks like percent: divide the column by "
     r"100\)"),
    ("risk_scores_missing",
     lambda: run_contract(CASEMIX, COHORT.with_columns(
         pl.when(pl.col("offender_id") == COHORT["offender_id"][0]).then(float("nan"))
         .otherwise(pl.col("true_risk")).alias("true_risk")), EVENTS),
     r"comparator\.risk_column: column 'true_risk' has 1 missing or NaN risk score"),
    ("open_windows_without_as_of", lambda: run_contract(RUN, COHORT, CUT),
     r"as_of: not given, so the data are taken to end on the last disposal date in the "
     r"events, 2020-06-\d\d; the follow-up windows .* close after it.*pass as_of= the date the "
     r"data were extracted \(pbr pay --as-of YYYY-MM-DD\): on or after 2021-06-30"),
    ("open_windows_as_of_not_provisional",
     lambda: run_contract(RUN, COHORT, CUT, as_of="2020-06-30"),
     r"as_of 2020-06-30: the follow-up windows .* of cohort\(s\) 2019Q1 \(\d+ offenders, the "
     r"last closing 2020-09-\d\d\).*have not closed.*on or after 2021-06-30.*provisional = "
     r"true"),
    ("as_of_not_a_date", lambda: run_contract(RUN, COHORT, EVENTS, as_of="30/06/2021"),
     r"as_of: the data extract date, e\.g\. as_of=\"2021-06-30\".*got '30/06/2021'"),
    ("as_of_contradicts_the_contract",
     lambda: run_contract(Contract.from_toml(BASE + '[measure]\npreset = "moj_national_2017"\n'
                                             'overrides = { as_of = 2022-01-01 }\n'),
                          COHORT, EVENTS, as_of="2022-06-30"),
     r"as_of: 2022-06-30 differs from measure\.overrides\.as_of \(2022-01-01\)"),
    ("interim_override_without_provisional",
     lambda: run_contract(Contract.from_toml(BASE + '[measure]\npreset = "moj_national_2017"\n'
                                             'overrides = { as_of = 2022-01-01, interim = '
                                             'true }\n'), COHORT, EVENTS),
     r"measure\.overrides\.interim = true measures windows that have not closed, but "
     r"\[contract\] provisional is false"),
    ("index_dates_after_as_of",
     lambda: run_contract(RUN_PROVISIONAL, COHORT, CUT.filter(
         pl.col("disposal_date") <= dt.date(2019, 6, 30)), as_of="2019-06-30"),
     r"as_of 2019-06-30: cohort\(s\) \['2019Q2', '2019Q3', '2019Q4'\] have \d+ offender\(s\) "
     r"whose index date is on or after the data extract date"),
    ("casemix_baseline_out_of_range",
     lambda: run_contract(Contract.from_toml(toml(comparator=(
         '[comparator]\nkind = "casemix"\nvalues = { binary_rate = 5.0 }\n'
         'risk_column = "true_risk"\nbaseline_risk = 90.0\n'))), COHORT, EVENTS),
     r"comparator: the case-mix adjusted baseline of cohort '2019Q1' is 5\.0 \+ \(.* - "
     r"90\.0\) = -.*, outside 0 to 100; check that comparator\.values\.binary_rate and "
     r"baseline_risk are in percent"),
    ("baseline_per_100_written_for_per_offender",
     lambda: run_contract(Contract.from_toml(toml(
         comparator="[comparator]\nvalues = { per_offender = 155.0 }\n",
         binary=BINARY.replace('"binary_rate"', '"per_offender"'))), COHORT, EVENTS),
     r"comparator\.values\.per_offender for cohort '2019Q1' \(measured .*\): actual .* "
     r"against comparator 155\.0 differ more than 50-fold"),
    ("bed_days_without_custody",
     lambda: run_contract(Contract.from_toml(toml(
         comparator="[comparator]\nvalues = { custody_days_per_offender = 30.0 }\n",
         binary=BINARY.replace('"binary_rate"', '"custody_days_per_offender"'))), COHORT,
         EVENTS),
     r"component measure custody_days_per_offender: the measured cohort has no custody_days "
     r"\(no custody table was given\).*pass custody= \(pbr pay --custody\)"),
    ("negative_matching_weights",
     lambda: run_contract(MATCHED, COHORT.with_columns(
         (pl.col("true_risk") - 0.5).alias("w")), EVENTS),
     r"comparator\.weight_column: column 'w' has \d+ missing, infinite or negative weight"),
    ("empty_group_flags",
     lambda: run_contract(MATCHED, COHORT.with_columns(
         pl.when(pl.col("true_risk") > 0.5).then(None).otherwise(pl.col("treated"))
         .alias("treated"), pl.lit(1.0).alias("w")), EVENTS),
     r"comparator\.group_column: column 'treated' has \d+ empty value\(s\); each row must "
     r"be true \(the cohort\) or false"),
    ("no_events_no_as_of", lambda: run_contract(RUN, COHORT, EVENTS.clear()),
     r"as_of: not given, and the events hold no disposal date.*pbr pay --as-of"),
    ("cohort_column_missing",
     lambda: run_contract(RUN, COHORT.drop("cohort_period"), EVENTS),
     r"cohorts\.column: column 'cohort_period' is not in the cohort file; its columns are"),
]


@pytest.mark.parametrize("case", RUN_CASES, ids=[c[0] for c in RUN_CASES])
def test_run_contract_is_refused(case: tuple[str, Callable[[], Any], str]) -> None:
    _, call, match = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the measure's own warnings are not the point
        with pytest.raises(ContractError, match=match):
            call()


def test_provisional_lines_are_marked_and_warned() -> None:
    with pytest.warns(ProvisionalWarning, match=r"provisional: lines L\d+.* rest on follow-up "
                      r"windows that had not closed by the data extract date"):
        run = run_contract(RUN_PROVISIONAL, COHORT, CUT, as_of="2020-06-30")
    s = run.statement
    assert s.provisional and any("provisional: lines" in n for n in s.notes)
    assert {x.cohort for x in s.lines if x.provisional} == {"2019Q1", "2019Q2", "2019Q3",
                                                              "2019Q4"}
    assert " P" in str(s).splitlines()[5] and "PROVISIONAL" in s.explain("L1")
    assert s.to_frame()["provisional"].to_list() == [True] * len(s.lines)


def test_as_of_long_after_the_last_disposal_is_warned_and_noted() -> None:
    """The measure's own warning (an extract that may end before as_of) reaches the
    statement's notes."""
    from pbr.errors import PbrWarning

    with pytest.warns(PbrWarning, match=r"as_of 2022-06-30 .*last disposal"):
        run = run_contract(RUN, COHORT, CUT, as_of="2022-06-30")
    assert any(n.startswith("as_of 2022-06-30") and "last disposal" in n
               for n in run.statement.notes)


def test_a_closed_extract_pays_in_full_and_keeps_the_measure_notes() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = run_contract(RUN, COHORT, EVENTS, as_of="2022-08-31").statement
    assert not full.provisional
    assert all(isinstance(x.amount, D) for x in full.lines)
