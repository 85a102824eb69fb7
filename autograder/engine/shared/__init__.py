"""Helpers with no secret that both sides use: torch's global mode, saved-tensors hooks, binding
functions under another function's global names. Imports nothing of the engine's sides."""
