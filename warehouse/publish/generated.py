"""What an analyst needs beside the files: a BigQuery `CREATE EXTERNAL TABLE` per KPI table, so
none is written by hand (the LookML project: warehouse/looker).

The external table reads the files its manifest (`bigquery/manifests/<table>.txt`) lists, not
whatever lies under `kpi/<table>/`: the manifest is one object, replaced whole by a publish, so a
query sees one publish of the table, never a mix."""

from __future__ import annotations

from warehouse.publish.render import PARTITION, TableSpec


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", " ") + "'"


def bigquery_ddl(spec: TableSpec, dataset: str, table_url: str, manifest_url: str,
                 definition: str = "") -> str:
    """`table_url`: `gs://…/kpi/<table>/`, the prefix every file of the table is under;
    `manifest_url`: the table's newline-delimited list of those files' URIs."""
    prefix = table_url.rstrip("/") + "/"
    columns = ",\n".join(
        f"  `{c.name}` {c.bigquery_type}"
        + (f" OPTIONS (description = {_sql_string(c.description)})" if c.description else "")
        for c in spec.columns
    )
    options = ["format = 'PARQUET'", f"uris = [{_sql_string(manifest_url)}]",
               "file_set_spec_type = 'NEW_LINE_DELIMITED_MANIFEST'"]
    partition = ""
    if spec.date_column:
        # The prefix ends right before `dt=`; `dt` is a partition column, not in the files.
        partition = f"WITH PARTITION COLUMNS ({PARTITION} DATE)\n"
        options += [f"hive_partition_uri_prefix = {_sql_string(prefix)}",
                    "require_hive_partition_filter = false"]
    description = " ".join(f"{spec.description} {definition}".split())
    if description:
        options.append(f"description = {_sql_string(description)}")
    header = (f"-- {spec.qualified}, published by `thoth publish`. Run in BigQuery (bq query "
              "--use_legacy_sql=false < this file).\n")
    return (f"{header}CREATE OR REPLACE EXTERNAL TABLE `{dataset}.{spec.name}` (\n{columns}\n)\n"
            f"{partition}OPTIONS (\n  " + ",\n  ".join(options) + "\n);\n")

