"""Impact-bond finance: rates of return, the investors' and the payer's views, and the
INDIGO impact-bond data standard export (docs/finance.md)."""

from pbr.finance.appraise import Appraisal, PayerView, appraise
from pbr.finance.bond import FLOW_KINDS, Flow, ImpactBond, flows_from_frame, flows_from_statements
from pbr.finance.indigo import indigo_json, to_indigo
from pbr.finance.rates import IrrResult, irr, money_multiple, npv, xirr, xnpv
from pbr.finance.replicates import ReturnDistribution, return_distribution

__all__ = ["FLOW_KINDS", "Appraisal", "Flow", "ImpactBond", "IrrResult", "PayerView",
           "ReturnDistribution", "appraise", "flows_from_frame", "flows_from_statements",
           "indigo_json", "irr", "money_multiple", "npv", "return_distribution", "to_indigo",
           "xirr", "xnpv"]
