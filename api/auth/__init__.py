"""Who is calling: principals, token and key resolution, logins."""
