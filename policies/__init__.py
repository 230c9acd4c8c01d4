"""The ml-platform CrossGuard policy pack (``__main__.py`` builds it; the rules live in :mod:`policies.rules`)."""
