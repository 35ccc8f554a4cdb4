"""Analytics engine: paths, attribution models, viral growth, ROI, predictions, the ROI report.

Pure and I/O-free (numpy, scipy). Entry points:

* ``EventFrame.from_rows(rows)``: columnar events;
* ``build_paths(frame, ...)``: conversion and non-converting paths;
* ``run_model`` / ``run_models``: first_touch, last_touch, linear, time_decay, position_based,
  markov (order 1..4, exact removal effects), shapley;
* ``parse_paths``: aggregated path files (``path,total_conversions,...``);
* ``build_roi_report(frame, from_ms=, to_ms=, campaigns=, cost_model=, scope=, truth=)``: the
  ROI report (docs/analytics.md lists every field);
* ``CostModel`` / ``SpendEntry``: the cost ledger's prices and recorded spend;
* ``estimate_lift`` / ``Arm``: incremental lift of a treated group over a holdout;
* ``fit_bgnbd`` / ``fit_gamma_gamma``: repeat-purchase and spend models;
* ``generate(seed=, suppliers=, couples=, campaigns=, days=)``: seed-demo data with the truth.
"""

from .aggregated import parse_paths, to_csv
from .attribution import Credit
from .clv import fit_bgnbd, fit_gamma_gamma
from .costs import SpendEntry
from .errors import AnalyticsError, PathFileError, UnknownModelError
from .events import CONVERSION_TYPES, EventFrame
from .incrementality import Arm, estimate_lift
from .markov import build_chain, markov, removal_effects, simulate_conversion_probability
from .models import MODELS, run_model, run_models
from .paths import DEFAULT_LOOKBACK_MS, Journeys, PathSet, build_paths
from .report import build_roi_report
from .roi import CostModel
from .shapley import shapley
from .synthetic import SyntheticData, attribution_accuracy, generate

__all__ = [
    "CONVERSION_TYPES",
    "DEFAULT_LOOKBACK_MS",
    "MODELS",
    "AnalyticsError",
    "Arm",
    "CostModel",
    "Credit",
    "EventFrame",
    "Journeys",
    "PathFileError",
    "PathSet",
    "SpendEntry",
    "SyntheticData",
    "UnknownModelError",
    "attribution_accuracy",
    "build_chain",
    "build_roi_report",
    "build_paths",
    "estimate_lift",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "generate",
    "markov",
    "parse_paths",
    "removal_effects",
    "run_model",
    "run_models",
    "shapley",
    "simulate_conversion_probability",
    "to_csv",
]
