"""Chatting with one agent: `client` talks to its runtime (turns, the event stream, replies,
steer, abort), `transcript` folds the events into what a chat view draws, `headless` prints a
turn for `agentops chat`. No Textual here: the chat screen renders from these."""
