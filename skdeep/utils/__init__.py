"""Helpers shared by skdeep's estimators (private)."""
