"""Benchmarks that start real services on loopback and print what they measure (see each module)."""
