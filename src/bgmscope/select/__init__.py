"""Genetic feature selection on the seed's two-clip pair-matching objective (issue 5).

``objective`` scores a subset, ``ga`` searches (DEAP), ``baselines`` gives what the GA must beat,
``evaluate`` runs the whole study with a k-fold check over songs, ``stage`` stores it in the catalog.
"""

from .evaluate import SelectionReport, SelectOptions, select_features
from .ga import GeneticPairSelector, run_ga
from .objective import PairMatchObjective, PairScore, pair_partners, standardise

__all__ = ["GeneticPairSelector", "PairMatchObjective", "PairScore", "SelectOptions", "SelectionReport",
           "pair_partners", "run_ga", "select_features", "standardise"]
