"""Thoth Tech's data platform: shared plumbing (settings, errors, the warehouse file) and the CLI."""
