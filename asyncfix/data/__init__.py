"""Data asyncfix ships: tables generated from library introspection."""
