"""Export to the INDIGO impact-bond data standard (project model).

INDIGO (International Network for Data on Impact and Government Outcomes, Government
Outcomes Lab, University of Oxford) publishes impact-bond projects as JSON documents
following its project schema ([INDIGO-DataStandard]: ``schema/project.json``, version
4.x; each field an object with a ``value``).  :func:`to_indigo` maps an
:class:`~pbr.finance.ImpactBond`, its :class:`~pbr.finance.Appraisal` and its payment
statements onto the project fields below; :func:`indigo_json` writes the document as
JSON text with the amounts as exact decimal numbers.  The mapping, and the fields left
empty, are listed in docs/finance.md.

* ``name``, ``status``, ``stage_development``, ``jurisdiction``;
* ``dates.start_date_of_service_provision`` (the first service cost);
* ``overall_project_finance``: ``total_investment_commitment`` (the commitment),
  ``total_outcome_payments_made``, ``investor_repayment`` (only once ``stage`` is
  ``Complete``);
* ``investment_details``: ``total_funds_invested.latest`` (capital drawn, last
  drawdown) and ``internal_rate_of_return.latest`` (the appraisal's IRR, or why there
  is none);
* ``outcome_payment_commitments`` (one, the outcome payer: payments made to date, the
  first and last payment dates as the period, Overall once ``stage`` is Complete);
* ``investments`` (one, the investors as a whole), ``transactions`` (every drawdown,
  outcome payment, guarantee payment and repayment, dated);
* ``outcome_metrics``, ``outcome_pricings`` (one per statement component with a single
  unit price), ``outcome_payments`` (per statement and component) and ``results`` (per
  statement and component: the counts and the comparison);
* ``provider_side_cost``: service costs (``Service delivery costs``) and fees
  (``Other costs``, or the INDIGO classification the fee is labelled with).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from pbr._version import __version__
from pbr.contract.statement import PaymentStatement
from pbr.errors import SchemaError, SpecError
from pbr.finance.appraise import Appraisal
from pbr.finance.bond import ImpactBond

__all__ = ["INDIGO_SCHEMA_COMMIT", "INDIGO_SCHEMA_URL", "indigo_json", "to_indigo"]

#: the schema version the export follows (INDIGO-Initiative/indigo-data-standard)
INDIGO_SCHEMA_URL = ("https://github.com/INDIGO-Initiative/indigo-data-standard/blob/"
                     "f034d757ca756bd0a03ba4df69be81f9eee7d416/schema/project.json")
INDIGO_SCHEMA_COMMIT = "f034d757ca756bd0a03ba4df69be81f9eee7d416"

STAGES = ("Contracted", "Implementation", "Service delivery complete", "Complete")
STATUSES = ("PUBLIC", "PRIVATE", "DISPUTED")
TRANSACTION_TYPES = ("Debt", "Grant", "Equity", "Debt and Equity", "Interest Payment",
                     "Capital Repayment", "Capital Repayment and Interest",
                     "Outcome Payment", "Other")
RESULT_TYPES = ("Interim", "Final")
#: INDIGO's provider-side cost classifications in the operational phase (codelist
#: project_provider_side_cost_classification.csv) a fee may be labelled with
FEE_CLASSES = ("SPV set up and operational costs",
               "Monitoring costs (includes outcome reporting cost and management staff cost)",
               "Evaluation costs", "Governance costs (board meetings, etc.)",
               "Enforcement costs (renegotiations, adaptation)",
               "Cost of working capital (Investor return - interest and surplus)",
               "Delivery innovations", "Other costs")
_REPAYMENT = ("No repayment (no principle or return)",
              "Some repayment (but below value of principle)",
              "Principal repaid (but no net return)", "Principal + positive financial returns")


def _v(value: Any) -> dict[str, Any]:
    return {"value": value}


def _day(d: _dt.date) -> dict[str, Any]:
    return {"value": d.isoformat()}


def _money(currency: str, amount: Decimal, key: str = "amount") -> dict[str, Any]:
    return {"currency": _v(currency), key: _v(amount)}


def _choice(name: str, value: str | None, allowed: Iterable[str]) -> str | None:
    allowed = tuple(allowed)
    if value is not None and value not in allowed:
        raise SpecError(f"{name}: {value!r} is not one of INDIGO's values: "
                        f"{'; '.join(allowed)}")
    return value


def _statements(items: Mapping[Any, PaymentStatement] | Iterable[tuple[Any, ...]]
                ) -> list[tuple[_dt.date, PaymentStatement, str]]:
    pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
    out = []
    for i, item in enumerate(pairs):
        if not isinstance(item, tuple) or len(item) not in (2, 3):
            raise SchemaError(f"statements[{i}]: expected (date, PaymentStatement[, "
                              f"'Interim' | 'Final']), got {item!r}")
        day, s = item[0], item[1]
        if isinstance(day, str):
            try:
                day = _dt.date.fromisoformat(day)
            except ValueError:
                raise SchemaError(f"statements[{i}]: date {item[0]!r} is not YYYY-MM-DD"
                                  ) from None
        if isinstance(day, _dt.datetime) or not isinstance(day, _dt.date):
            raise SchemaError(f"statements[{i}]: the payment date must be a date, got {day!r}")
        if not isinstance(s, PaymentStatement):
            raise SchemaError(f"statements[{i}]: expected a PaymentStatement, got "
                              f"{type(s).__name__}")
        kind = item[2] if len(item) == 3 else ("Interim" if s.provisional else "Final")
        _choice(f"statements[{i}] result type", kind, RESULT_TYPES)
        out.append((day, s, kind))
    return out


def _metric_id(component: str) -> str:
    return "outcome-metric-" + re.sub(r"[^A-Za-z0-9]+", "-", component).strip("-").lower()


def _outcomes(bond: ImpactBond, statements: list[tuple[_dt.date, PaymentStatement, str]]
              ) -> dict[str, list[dict[str, Any]]]:
    cur = bond.currency
    metrics: dict[str, dict[str, Any]] = {}
    prices: dict[str, set[Decimal]] = {}
    payments: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for day, s, kind in statements:
        if s.currency != cur:
            raise SchemaError(f"statement {s.contract} v{s.version}: currency {s.currency} "
                              f"differs from the bond's {cur}")
        by_component: dict[str, list[Any]] = {}
        for x in s.lines:
            if x.kind == "component":
                by_component.setdefault(x.component, []).append(x)
        for comp, lines in by_component.items():
            mid = _metric_id(comp)
            measures = sorted({x.measure for x in lines if x.measure})
            metrics.setdefault(mid, {
                "id": mid,
                "definition": _v(f"{comp}: {', '.join(measures) or 'fee'} "
                                 f"({lines[0].rule})"),
                "outcome_validation_method": _v("pbr payment statement: "
                                                + (lines[0].source or lines[0].rule)),
            })
            prices.setdefault(mid, set()).update(
                x.unit_price for x in lines if x.unit_price is not None)
            amount = sum((x.amount for x in lines), Decimal(0))
            payments.append({
                "outcome_metric_id": _v(mid),
                "period": {"end_date": _day(day)},
                "type": _v("Planned" if s.provisional else "Actual"),
                "money": _money(cur, amount),
                "notes": f"{s.contract} version {s.version}, lines "
                         f"{', '.join(x.line for x in lines)}; paid {day.isoformat()}",
            })
            described = []
            engaged = 0
            for x in lines:
                part = f"{x.cohort}: {x.measure or x.component}"
                if x.actual is not None:
                    part += f" {x.actual} against {x.baseline} (difference {x.difference})"
                if x.units is not None:
                    part += f", {x.units} {x.unit}".rstrip()
                described.append(part + f", {cur} {x.amount}")
                engaged += x.n or 0
            result: dict[str, Any] = {
                "outcome_metric_id": _v(mid), "result_level": _v("Outcome level"),
                "result_type": _v(kind), "outcomes_achieved": _v("; ".join(described)),
                "notes": f"{s.contract} version {s.version}",
            }
            if engaged:
                result["number_engaged_in_impact_bond"] = _v(engaged)
            results.append(result)
    pricings = [{"outcome_metric_id": _v(mid), "currency": _v(cur),
                 "price_per_unit": {"amount": _v(next(iter(p)))}}
                for mid, p in prices.items() if len(p) == 1]
    return {"outcome_metrics": list(metrics.values()), "outcome_pricings": pricings,
            "outcome_payments": payments, "results": results}


def to_indigo(bond: ImpactBond, *, appraisal: Appraisal | None = None,
              statements: Mapping[Any, PaymentStatement] | Iterable[tuple[Any, ...]] = (),
              stage: str | None = None, jurisdiction: str | None = None,
              status: str = "PUBLIC", capital_type: str = "Other",
              investor_id: str | None = None, payer_id: str | None = None,
              provider_id: str | None = None, guarantor_id: str | None = None
              ) -> dict[str, Any]:
    """The bond as an INDIGO project document (a dict; amounts as Decimal).

    Parameters
    ----------
    bond
        The bond's flows (capital, costs, fees, outcome payments).
    appraisal
        Its appraisal (for the IRR and the investor repayment); computed by the caller.
    statements
        ``{date paid: PaymentStatement}`` or ``(date, statement[, "Interim"|"Final"])``:
        the outcome metrics, prices, payments and results.  A provisional statement's
        payments are ``Planned`` and its results ``Interim``.
    stage
        INDIGO stage of development (``Contracted``, ``Implementation``, ``Service
        delivery complete``, ``Complete``).
    jurisdiction
        ISO 3166 two-letter country code (``GB``, ``US``).
    status
        ``PUBLIC``, ``PRIVATE`` or ``DISPUTED`` (the record's disclosure status).
    capital_type
        INDIGO transaction type of the drawdowns (``Debt``, ``Equity``, ``Debt and
        Equity``, ``Grant`` or ``Other``).
    investor_id, payer_id, provider_id, guarantor_id
        INDIGO organisation identifiers (``INDIGO-ORG-...``) where known.

    Examples
    --------
    >>> bond = ImpactBond.build("demo", "GBP", commitment=100,
    ...     service_costs=[("2020-01-01", 100)], outcome_payments=[("2022-01-01", 120)])
    >>> doc = to_indigo(bond, jurisdiction="GB")
    >>> doc["name"], doc["overall_project_finance"]["total_outcome_payments_made"]["amount"]
    ({'value': 'demo'}, {'value': Decimal('120')})
    """
    _choice("stage", stage, STAGES)
    _choice("status", status, STATUSES)
    _choice("capital_type", capital_type, ("Debt", "Grant", "Equity", "Debt and Equity",
                                           "Other"))
    if jurisdiction is not None and not re.fullmatch(r"[A-Z]{2}", jurisdiction):
        raise SpecError(f"jurisdiction: an ISO 3166 two-letter code such as 'GB', got "
                        f"{jurisdiction!r}")
    for name, org in (("investor_id", investor_id), ("payer_id", payer_id),
                      ("provider_id", provider_id), ("guarantor_id", guarantor_id)):
        if org is not None and (not isinstance(org, str) or not org.strip()):
            raise SpecError(f"{name}: an organisation identifier, got {org!r}")
    if appraisal is not None and appraisal.bond != bond:
        raise SpecError("appraisal: it appraises another bond (or other flows)")
    cur = bond.currency
    doc: dict[str, Any] = {"status": status, "name": _v(bond.name)}
    if stage:
        doc["stage_development"] = _v(stage)
    if jurisdiction:
        doc["jurisdiction"] = {"jurisdiction": _v(jurisdiction)}
    services = [f for f in bond.flows if f.kind == "service_cost"]
    if services:
        doc["dates"] = {"start_date_of_service_provision": _day(services[0].date)}
    drawn = bond.total("drawdown")
    paid = bond.total("outcome_payment")
    finance: dict[str, Any] = {"total_outcome_payments_made": _money(cur, paid)}
    if bond.commitment is not None:
        finance["total_investment_commitment"] = {
            "currency": _v(cur), "amount": {"exact": _v(bond.commitment)}}
    repayment = None
    if appraisal is not None and stage == "Complete" and appraisal.invested > 0:
        back = appraisal.returned
        repayment = _REPAYMENT[0 if back == 0 else 1 if back < appraisal.invested else
                               2 if back == appraisal.invested else 3]
        finance["investor_repayment"] = _v(repayment)
    doc["overall_project_finance"] = finance
    draws = [f for f in bond.flows if f.kind == "drawdown"]
    details: dict[str, Any] = {}
    if draws:
        details["total_funds_invested"] = {"latest": {
            "currency": _v(cur), "amount": _v(drawn), "date": _day(draws[-1].date)}}
    if appraisal is not None:
        rate = appraisal.irr.rate
        last = bond.investor_flows()[-1][0]
        details["internal_rate_of_return"] = {
            "latest": _v(f"{rate:.2%}" if rate is not None else
                         f"not defined ({appraisal.irr.status})"),
            "date": _day(last)}
    if details:
        doc["investment_details"] = details
    investment: dict[str, Any] = {"id": "investment1"}
    if investor_id:
        investment["organisation_id"] = _v(investor_id)
    if bond.commitment is not None:
        investment["investment_commitment"] = {"currency": _v(cur),
                                               "amount": {"exact": _v(bond.commitment)}}
    if repayment is not None:
        investment["investor_repayment"] = _v(repayment)
    doc["investments"] = [investment]
    payments = [f for f in bond.flows if f.kind == "outcome_payment"]
    if payments:  # the outcome payer's payments to date (one payer: the bond's)
        commitment: dict[str, Any] = {
            "result_type": _v("Overall" if stage == "Complete" else "Interim"),
            "period": {"start_date": _day(payments[0].date),
                       "end_date": _day(payments[-1].date)},
            "total_outcome_payments": _money(cur, paid)}
        if payer_id:
            commitment["organisation_id"] = _v(payer_id)
        doc["outcome_payment_commitments"] = [commitment]
    kinds = {"drawdown": capital_type, "outcome_payment": "Outcome Payment",
             "guarantee": "Capital Repayment", "repayment": "Capital Repayment"}
    transactions = []
    for f in bond.flows:
        if f.kind not in kinds:
            continue
        t: dict[str, Any] = {"investment_id": _v("investment1"), "date": _day(f.date),
                             "transaction_type": _v(kinds[f.kind]),
                             "money": _money(cur, f.amount)}
        sender, receiver = {"drawdown": (investor_id, provider_id),
                            "outcome_payment": (payer_id, investor_id),
                            "guarantee": (guarantor_id, investor_id),
                            "repayment": (provider_id, investor_id)}[f.kind]
        if sender:
            t["sending_organisation_id"] = _v(sender)
        if receiver:
            t["receiving_organisation_id"] = _v(receiver)
        notes = [f.label, f.source, "paid by a guarantor" if f.kind == "guarantee" else ""]
        if any(notes):
            t["notes"] = "; ".join(x for x in notes if x)
        transactions.append(t)
    if transactions:
        doc["transactions"] = transactions
    # the schema's arrays need at least one item: an empty section is left out
    doc.update({k: v for k, v in _outcomes(bond, _statements(statements)).items() if v})
    costs = []
    for f in bond.flows:
        if f.kind not in ("service_cost", "fee"):
            continue
        cls = "Service delivery costs" if f.kind == "service_cost" else (
            f.label if f.label in FEE_CLASSES else "Other costs")
        cost: dict[str, Any] = {
            "date": _day(f.date), "phase": _v("Operational and management"),
            "classification": _v(cls), "type": _v("Purchased or spent"),
            "payment": _money(cur, f.amount, "actual")}
        if provider_id and f.kind == "service_cost":
            cost["incurred_by"] = _v(provider_id)
        if f.label:
            cost["notes"] = f.label
        costs.append(cost)
    if costs:
        doc["provider_side_cost"] = costs
    doc["sources"] = [{"id": "pbr", "name": _v(f"pbr {__version__}: impact bond flows "
                                                f"{bond.provenance.get('flows_sha256', '')}"),
                       "type": _v("Report")}]
    return doc


_PLACEHOLDER = "\u0000pbr-decimal:"


def _encode(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return _PLACEHOLDER + format(obj, "f")
    if isinstance(obj, dict):
        return {k: _encode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_encode(v) for v in obj]
    return obj


def indigo_json(doc: Mapping[str, Any], *, indent: int = 2) -> str:
    """The document as JSON text; Decimal amounts written as exact numbers.

    Examples
    --------
    >>> indigo_json({"money": {"amount": {"value": Decimal("274200.00")}}}, indent=0)
    '{\\n"money": {\\n"amount": {\\n"value": 274200.00\\n}\\n}\\n}'
    """
    text = json.dumps(_encode(dict(doc)), indent=indent, ensure_ascii=False, sort_keys=False)
    return re.sub(r'"\\u0000pbr-decimal:(-?[0-9.]+)"', r"\1", text)
