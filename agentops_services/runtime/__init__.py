"""The agent runtime: HTTP API and FEP event stream, the agent loop, LLM providers, budget and
checkpoints, task mode."""
