"""The operator API (`/api/v1`): REST resources, live WebSocket, authentication."""
