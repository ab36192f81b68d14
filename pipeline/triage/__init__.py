"""Labels for every feedback message (topic, urgency, sentiment, language) and a reply
draft: by the AI provider when there is one, by keywords per language otherwise."""
