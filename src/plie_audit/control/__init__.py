"""Control requests of the authorities (seed, article 8) and what is served to them."""
