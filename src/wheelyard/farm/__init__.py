"""The farm: a service that builds many packages on many machines.

Temporal orchestrates the stages (``workflows``, ``activities``); workers announce the runner
labels they serve (``capabilities``, ``worker``); the database (``db``) records packages,
builds, jobs, wheels, workers and API tokens; the HTTP API and dashboard (``api``) read it and
serve the farm's index. ``up`` runs all of it on one machine.
"""
