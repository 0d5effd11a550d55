"""``esp32`` for the simulated node board: the wake sources of deep sleep."""

import _world

WAKEUP_ALL_LOW = False
WAKEUP_ANY_HIGH = True


def wake_on_ext0(pin, level):
    _world.call("wake_on", pin=pin.id, level=1 if level else 0)
