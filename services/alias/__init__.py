"""The alias service."""
