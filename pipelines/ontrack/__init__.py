"""OnTrack (Doubtfire) → DuckDB schema `ontrack_raw`, one table per source table: extract (the
catalog, secrets held back, each table in turn), table_load (one table, one transaction),
source_db (PostgreSQL or MariaDB: catalog, Arrow readers), generation (which OnTrack schema),
settings and config, and job (the entry point; `python -m pipelines.ontrack` runs it)."""
