"""Figures from results. Nothing here computes a result; it only draws what the library returned."""
