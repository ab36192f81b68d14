"""What the operators' console pages read: one module per page, queries only (the writes
are the domain services the API uses too). Functions take the session and never commit."""
