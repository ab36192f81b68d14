"""What the operators' console pages read: one module per page, its SQL in `repository`
(the writes are the domain services the API uses too). Functions take the session and
never commit."""
