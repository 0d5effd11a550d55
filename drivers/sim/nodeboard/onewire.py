"""``onewire`` for the simulated node board: the bus a DS18B20 answers on."""


class OneWire:
    def __init__(self, pin):
        self.pin = pin
