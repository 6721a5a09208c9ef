"""Who is asking and may they: the auth middleware, the callback guard, the account CLI."""
