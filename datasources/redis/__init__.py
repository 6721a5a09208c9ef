"""Redis: the publisher, the hub (one subscriber per process), the embedded server, rate limits."""
