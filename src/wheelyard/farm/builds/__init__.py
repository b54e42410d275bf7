"""Builds on the farm: submit, workflow, activities, stages, records."""
