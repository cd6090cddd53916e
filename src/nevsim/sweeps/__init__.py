"""Example sweep files shipped with nevsim (``nevsim sweep NAME`` runs one by name)."""
