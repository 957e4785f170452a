"""Sources → raw: one folder per source, production code only (the demo's fakes live in
thoth/demo). Each source's `job` is its one entry point."""
