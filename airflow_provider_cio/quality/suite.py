"""Compile a contract into a great-expectations 1.x ``ExpectationSuite`` users can open in GX tooling.

great_expectations is imported here, inside functions only: importing it costs about 3 s and 280 MB, which must
never happen while Airflow parses a DAG file.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from airflow_provider_cio.quality.contract import Contract
from airflow_provider_cio.quality.expectations import expectation_specs

if TYPE_CHECKING:
    import great_expectations as gx


def import_gx() -> Any:
    """Import great_expectations with analytics off (set before the first import, or it is too late)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations

    return great_expectations


def _class_name(expectation_type: str) -> str:
    return "".join(part.capitalize() for part in expectation_type.split("_"))


def compile_suite(contract: Contract) -> gx.ExpectationSuite:
    """One expectation per contract check, carrying the check's severity and name (in ``meta``)."""
    gx_module = import_gx()
    import great_expectations.expectations as gxe

    gx_module.get_context(mode="ephemeral")  # GX requires an active context to build a suite
    suite = gx_module.ExpectationSuite(
        name=f"{contract.dataset}-{contract.version}",
        meta={"contract": contract.dataset, "contract_version": contract.version, "source": contract.source},
    )
    for spec in expectation_specs(contract):
        expectation_class = getattr(gxe, _class_name(spec.expectation_type))
        suite.add_expectation(expectation_class(**spec.kwargs, severity=spec.check.severity, meta=spec.meta))
    return suite
