"""Bundled reference data: HS baskets, the dual-use catalogue, export-control events."""
