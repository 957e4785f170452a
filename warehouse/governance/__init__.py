"""Retention and erasure: what is kept of people's data, for how long, and how it is removed.

retention (the policies in retention.yml: archive, verify, restore), erasure (`thoth erase-user`)
and its steps for the copies outside the warehouse (archive_erasure, lake_erasure,
products_erasure). What both leave in the platform's tables — the cut-offs, the erasure ledger and
its rules — is read below the pipelines (thoth/core/platform/retention_state.py, erasures.py), and
thoth/core/load_guard.py applies both to each table a loader has just written, so neither an
archived row nor an erased person comes back."""
