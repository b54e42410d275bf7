"""Artifact stores, the package index writer, publishing and retention."""
