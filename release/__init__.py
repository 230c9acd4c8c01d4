"""The release controller: takes a model version from a registry alias to production traffic, or refuses it.

Why a package of its own: it runs in the cluster as a long-lived process (its own image, its own ServiceAccount),
talks to MLflow, Prometheus and the Kubernetes API with their official clients, and must not drag the Pulumi
program along. It imports nothing from the project; the Pulumi component that installs it
(``components.serving.ReleaseController``) renders the configuration it reads (``settings.Settings``).

Flow (``docs/model-delivery.md``): an MLflow webhook or the CLI asks for a release; the gate evaluates the
candidate on a held-out set and load-tests it in place through the route (``x-model-version``) before it has
any weight; the canary shifts weights on the endpoint's HTTPRoute only; every interval the canary is compared
with the stable version on Prometheus with the alert rules' PromQL; the release is promoted (``champion`` moves)
or rolled back. Every step is a phase persisted in a ConfigMap with optimistic concurrency, so a killed
controller resumes where it stood and never acts twice.
"""
