"""The console's logic that is not drawing: editing custom resources, schema help, the external
editor. Nothing here imports Textual, so screens stay thin and this is tested on its own."""
