"""Google Analytics 4 → DuckDB schema `ga4_raw`, one table per configured report: the dlt source
(source), its settings and configuration, helpers/ (client, conversion), extract (one dlt load
per report) and job (the entry point)."""
