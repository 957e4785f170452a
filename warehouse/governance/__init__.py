"""Retention and erasure: what is kept of people's data, for how long, and how it is removed.

retention (the policies in retention.yml: archive, verify, restore), erasure (`thoth erase-user`:
the ledger and the warehouse's rules) and its steps for the copies outside the warehouse
(archive_erasure, lake_erasure, products_erasure), and after_load: both applied to each table a
loader has just written, so neither an archived row nor an erased person comes back."""
