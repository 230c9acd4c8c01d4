"""Post-deploy smoke check of a running platform: real requests through the gateway, a wake from zero, metrics.

It stands alone (standard library only, no project imports) so that it runs from any checkout or CI job that can
reach the gateway and Prometheus, without the Pulumi program's dependencies.
"""
