"""Indicators computed from the tidy tables: pure functions returning tidy DataFrames."""
