"""Domain-side view of provider events: normalized payments and receipts, and their inbox."""
