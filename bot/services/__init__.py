"""paperwire."""
