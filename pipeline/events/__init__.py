"""The events domain: storing each webhook once, routing it to a handler, retrying it."""
