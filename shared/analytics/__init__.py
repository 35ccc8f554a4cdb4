"""Analytics engine: paths, attribution models, viral growth, ROI, predictions, the ROI report.

Pure and I/O-free (numpy, scipy). Entry points:

* ``EventFrame.from_rows(rows)``: columnar events;
* ``build_paths(frame, ...)``: conversion and non-converting paths;
* ``run_model`` / ``run_models``: first_touch, last_touch, linear, time_decay, position_based,
  markov (order 1..4, exact removal effects), shapley;
* ``parse_paths``: aggregated path files (``path,total_conversions,...``);
* ``build_roi_report(frame, from_ms=, to_ms=, campaigns=, cost_model=)``: the ROI report;
* ``generate(seed=, suppliers=, couples=, campaigns=, days=)``: seed-demo data with the truth.
"""

from .aggregated import parse_paths, to_csv
from .attribution import Credit
from .errors import AnalyticsError, PathFileError, UnknownModelError
from .events import EventFrame
from .markov import build_chain, markov, removal_effects, simulate_conversion_probability
from .models import MODELS, run_model, run_models
from .paths import DEFAULT_LOOKBACK_MS, Journeys, PathSet, build_paths
from .report import build_roi_report
from .roi import CostModel
from .shapley import shapley
from .synthetic import SyntheticData, attribution_accuracy, generate

__all__ = [
    "DEFAULT_LOOKBACK_MS",
    "MODELS",
    "AnalyticsError",
    "CostModel",
    "Credit",
    "EventFrame",
    "Journeys",
    "PathFileError",
    "PathSet",
    "SyntheticData",
    "UnknownModelError",
    "attribution_accuracy",
    "build_chain",
    "build_roi_report",
    "build_paths",
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
