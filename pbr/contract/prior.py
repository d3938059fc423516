"""Checks of prior payments (a :class:`~pbr.contract.ledger.PaymentLedger`) against a
contract and the outcomes of the run that follows them.

A ledger that does not belong to the contract (unknown components or cohorts, another
year for a cohort, another amount on account), that holds provisional lines, or that
already pays a cohort given again, would make the caps and the deductions of the new
statement wrong; each raises :class:`~pbr.errors.ContractError` naming the entry and the
fix (docs/methodology/payments.md, "Prior payments").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pbr.contract.ledger import PaymentLedger
from pbr.contract.outcome import Outcome
from pbr.contract.spec import LIMITS, Contract
from pbr.contract.statement import PaymentStatement
from pbr.errors import ContractError

__all__ = ["as_ledger", "check_prior"]


def as_ledger(prior: PaymentLedger | PaymentStatement | Iterable[PaymentStatement] | None
              ) -> PaymentLedger:
    """``prior`` as a ledger (empty for None)."""
    if prior is None:
        return PaymentLedger()
    if isinstance(prior, PaymentLedger):
        return prior
    if isinstance(prior, PaymentStatement):
        return PaymentLedger.from_statements(prior)
    if isinstance(prior, str | bytes) or not isinstance(prior, Iterable):
        raise ContractError(f"prior: give earlier PaymentStatement(s) or a PaymentLedger "
                            f"(pbr.io.read_ledger(path) for a ledger file), got {prior!r}")
    return PaymentLedger.from_statements(list(prior))


def check_prior(c: Contract, ledger: PaymentLedger, outcomes: Sequence[Outcome]) -> None:
    """The ledger belongs to the contract and pays none of the outcomes' cohorts."""
    if not ledger.entries:
        return
    for name, mine in (("contract", c.name), ("currency", c.currency)):
        theirs = getattr(ledger, name)
        if theirs is not None and theirs != mine:
            raise ContractError(f"prior: the earlier statements are of {name} {theirs!r}, not "
                                f"{mine!r}; give the statements of this contract")
    names = {x.name for x in c.components}
    listed = [p.name for p in c.periods]
    on_account = dict(c.on_account)
    for i, e in enumerate(ledger.entries, 1):
        where = f"prior entry {i} (cohort {e.cohort!r}, {e.component!r})"
        if e.provisional:
            raise ContractError(f"{where}: a provisional line is an estimate, not a payment, "
                                "and cannot count as paid; give the final statements (or "
                                "ledger rows) as prior")
        if e.kind == "component" and e.component not in names:
            raise ContractError(f"{where}: no component of that name in contract "
                                f"{c.name!r} (components {sorted(names)}); is the ledger "
                                "another contract's?")
        if e.kind == "limit" and e.component.removeprefix("limit ") not in LIMITS:
            raise ContractError(f"{where}: a limit line's component is 'limit <name>' with "
                                f"a name of {', '.join(LIMITS)}")
        if e.kind in ("component", "on_account") and listed and e.cohort not in listed:
            raise ContractError(f"{where}: cohort {e.cohort!r} is not a cohort of the "
                                f"contract (cohorts.period lists {listed})")
        if e.kind in ("component", "on_account"):
            year = c.period(e.cohort).year
            if year is not None and e.year is not None and e.year != year:
                raise ContractError(f"{where}: year {e.year!r}, but the contract puts cohort "
                                    f"{e.cohort!r} in year {year!r}")
        if e.kind == "on_account":
            due = on_account.get(e.cohort)
            if due is None or e.amount != -due:
                raise ContractError(
                    f"{where}: deducts {-e.amount} on account, but the contract's on_account "
                    f"for {e.cohort!r} is {due}; a ledger records a deduction as the "
                    "negative of the amount paid on account")
        if c.rounding.point == "line" and e.amount != c.rounding.round(e.amount):
            raise ContractError(f"{where}: amount {e.amount} is not rounded to "
                                f"{c.rounding.places} places (rounding.places)")
    paid = set(ledger.cohorts)
    again = sorted({o.cohort for o in outcomes} & paid)
    if again:
        raise ContractError(f"outcomes: cohort(s) {again} were already paid in an earlier "
                            "statement (prior); a cohort is paid once: leave it out of this "
                            "run, or leave its statement out of prior if this run replaces it")
    given = {o.cohort for o in outcomes}
    for x in c.components:
        if x.pooled_over and given & set(x.pooled_over) and paid & set(x.pooled_over):
            raise ContractError(
                f"component {x.name!r}.pooled_over: the pooled test over {list(x.pooled_over)} "
                f"needs all of them in one run, but {sorted(paid & set(x.pooled_over))} were "
                "paid in an earlier statement (prior); run the pooled cohorts together")
