"""Live updates: changes announced on Redis after commit, read back by the API's WebSocket."""
