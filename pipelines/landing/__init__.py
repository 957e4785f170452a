"""Stream sources as micro-batches: files producers land under `<landing>/<feed>/YYYY/MM/DD/`
(a `gs://` prefix or a directory) → DuckDB schema `landing_raw`, each file exactly once.

Feeds (settings.FEEDS): `ontrack_logs` (OnTrack's logs: Doubtfire's, Rails', lograge JSON, nginx
access lines; rails_log detects each line's format), `ontrack_metrics` (a Collector's OTLP JSON
or our {time, name, value, tags} lines, told apart per line: metric_lines) and `splashkit_usage`
(jsonl). files lists and reads them, extract
ingests one file per transaction with its ledger row (`landing_raw._files`), and quarantines
what does not parse (`landing_raw.quarantine`). `python -m pipelines.landing` runs it alone.
"""
