"""Raw → staging → intermediate → marts: the SQL and Polars models, their build, the data tests
and the KPI catalogue. Independent of the pipelines: it reads what they loaded, by table name."""
