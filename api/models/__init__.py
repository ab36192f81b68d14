"""Request and response bodies of the API (pydantic), grouped by resource."""
