"""Rebuild campaigns: plan, submit, workflow, activities, records, the dependency graph."""
