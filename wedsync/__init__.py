"""WedSync Hub: the project package and the core wedding domain."""
