"""Input drift check for one model: compare a recent window of its inputs with its reference data.

Why it exists: a model is only as good as the match between the data it was trained on and the data it now sees.
When the inputs drift (a feature's distribution moves, a category appears, an upstream pipeline breaks) the
model's predictions degrade silently, long before anyone measures accuracy, which needs ground truth that often
arrives weeks later. Comparing input distributions needs no labels and runs every hour.

The check runs as a Kubernetes CronJob (``components/observability/_drift_monitor.py``), computes each column's drift
with Evidently's per-column statistical tests, and pushes the drifted share of columns and every column's score to the
Pushgateway, where Prometheus alerts on them (``ModelInputDrift``).
"""
