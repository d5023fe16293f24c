"""Business rules that more than one process applies. They raise ApiError with contract codes."""
