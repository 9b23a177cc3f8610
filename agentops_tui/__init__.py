"""The AgentOps terminal console."""
