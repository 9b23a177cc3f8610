"""The embedded trace store: Grafana Tempo's stand-in when the platform runs on one machine.

`otlp_ingest` decodes OTLP/HTTP export requests, `otlp_records` turns them into rows,
`schema`, `writes` and `reads` are the SQLite side, `store` runs them (retention included),
`traceql` parses the TraceQL subset and `traceql_sql` compiles it, `search` answers
`/api/search`, `query_params` reads the query API's parameters, `http` has the routes and
`server` the app.
"""
