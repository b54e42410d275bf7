"""Matrix expansion, consolidation, build/test runner split, cost model, CI matrix output."""

from wheelyard.plan.matrix import Job, Plan, Skipped, make_plan

__all__ = ["Job", "Plan", "Skipped", "make_plan"]
