"""Thoth Tech's data platform. `thoth.core` is the ground every layer stands on; `thoth.faces`,
`thoth.app`, `thoth.demo` and `thoth.cli` are the top (docs/architecture.md)."""
