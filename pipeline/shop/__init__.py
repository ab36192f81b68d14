"""What the bot does with the database: users, catalogue, orders, checkout."""
