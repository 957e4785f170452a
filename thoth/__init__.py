"""Thoth Tech's data platform: shared plumbing (settings, errors, warehouse file) and the CLI."""
