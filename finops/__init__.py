"""The FinOps benchmark: what a thousand inferences cost on the platform's CPU and GPU nodes, from measurements.

Why a benchmark and not a test: the numbers depend on the machine it runs on and take minutes to gather. The
arithmetic that turns measurements into costs is kept apart (:mod:`.arithmetic`, pure functions) so that the
tests can check it for given measurements, and the report (:mod:`.report`) only formats what it computed.
``make finops`` runs :mod:`.__main__`.
"""
