"""The chat screen's parts: messages and tool cards, the windowed transcript, the permission
and question panels and the status line."""
