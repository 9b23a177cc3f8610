"""The trace explorer's data layer: Tempo's API as typed calls, traces as waterfalls.

`client` talks to Tempo, `otlp` and `search` are its answers as models, `traceql` builds
queries, `tree` turns spans into a waterfall, `filters`, `layout` and `detail` are what a
view asks of it, `text` draws it for a terminal without Textual. Everything but `client` is
pure, so a view can run it in a thread and tests need no Tempo.
"""
