"""One level-triggered reconciler per kind: read from the caches, apply what the builders say,
write status only when it changed."""
