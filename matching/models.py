"""Matching runs and their per-need results."""
