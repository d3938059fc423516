"""Impact-bond finance: rates of return, the investors' and the payer's views, and the
INDIGO impact-bond data standard export (docs/finance.md)."""

from pbr.finance.appraise import Appraisal, PayerView, appraise
from pbr.finance.bond import FLOW_KINDS, Flow, ImpactBond, flows_from_frame, flows_from_statements
from pbr.finance.rates import IrrResult, irr, money_multiple, npv, xirr, xnpv

__all__ = ["FLOW_KINDS", "Appraisal", "Flow", "ImpactBond", "IrrResult", "PayerView",
           "appraise", "flows_from_frame", "flows_from_statements", "irr", "money_multiple",
           "npv", "xirr", "xnpv"]
