"""Build a preview's :class:`Render`: its registrations, then what each chart and controller will create."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import _charts, _controllers
from ._render import Render


def build(resources: Iterable[Any], config: dict[str, str]) -> Render:
    render = Render(resources, config)
    for rel in render.releases:
        _charts.model(render, rel)
    _charts.cluster_builtins(render)
    for o in list(render.objects):
        _controllers.model(render, o)
    return render
