"""The component base: arguments are validated, every problem reported, before anything registers."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from components.common import ArgsError, PlatformComponent, Problems


@dataclass(kw_only=True)
class WidgetArgs:
    size: int = 1
    name: str = "w"

    def validate(self, problems: Problems) -> None:
        problems.check(self.size >= 1, "size", "must be >= 1", self.size)
        problems.check(self.name.islower(), "name", "must be lower case", self.name)


class Widget(PlatformComponent):
    def __init__(self, name: str, args: WidgetArgs) -> None:
        super().__init__("ml-platform:widget:Widget", name, args)
        self.register_outputs({})


def test_valid_arguments_register_the_component_under_its_type_token(mocked) -> None:
    regs = mocked.run(lambda: Widget("one", WidgetArgs()))
    assert [(r.type, r.name) for r in regs] == [("ml-platform:widget:Widget", "one")]


def test_every_problem_is_reported_under_the_name_and_nothing_registers(mocked) -> None:
    with pytest.raises(ArgsError) as err:
        mocked.run(lambda: Widget("two", WidgetArgs(size=0, name="W")))
    assert err.value.subject == "Widget 'two'"
    assert err.value.problems == ["two.size: must be >= 1, got 0", "two.name: must be lower case, got 'W'"]
    assert mocked.monitor.registrations == []
