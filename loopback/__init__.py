"""Real services on loopback, shared by the integration tests and the benchmarks: PostgreSQL, an S3 API, MLflow
with its artifacts there, and MLServer configured as the platform renders it."""
