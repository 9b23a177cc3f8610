"""Fakes of the paid services tests cannot reach (LLM providers), speaking their real wire
protocols over HTTP on loopback, and small tools that exercise the agent loop."""
