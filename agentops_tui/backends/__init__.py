"""Where the console's data comes from: one `Backend` protocol, a cluster implementation on
kubernetes-asyncio informers, and (with the embedded platform) a local one. No screen knows
which it has; nothing here imports Textual."""
