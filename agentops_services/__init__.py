"""AgentOps services: the API contract, operator, runtime, memory and trace store."""

__version__ = "0.1.0"
