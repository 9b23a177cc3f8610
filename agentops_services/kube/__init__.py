"""kubernetes-asyncio glue: clients, typed access to our resources, watches, apply."""
