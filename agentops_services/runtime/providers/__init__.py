"""LLM providers over HTTP (httpx + httpx-sse), each normalising its stream into `ModelEvent`s."""
