"""The buyers' assistant: answers free-text questions from the shop's own knowledge, or
hands them to the operators."""
