"""The cost model's price table and look-ups, shared by the offline preview, the policy pack and the monitoring rules.

A top-level package on purpose: the policy pack must not import the program or the components (it judges
resources, not our classes), yet its budget and the preview's cost lines must come from one table and one
function (:func:`cost.model.estimate`).
"""
