"""The `/api/v1/ws` WebSocket: one Redis subscription per process, fanned out in-process."""
