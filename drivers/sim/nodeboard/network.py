"""``network`` for the simulated node board: one station interface, up or down as the world
says, with the RSSI it gives."""

import _world

STA_IF = 0
AP_IF = 1
STAT_GOT_IP = 1010


class WLAN:
    def __init__(self, interface=STA_IF):
        self.interface = interface

    def active(self, on=None):
        return True

    def connect(self, ssid=None, key=None, **kwargs):
        _world.call("wifi_connect", ssid=ssid)

    def disconnect(self):
        pass

    def isconnected(self):
        return _world.call("wifi")["connected"]

    def status(self, param=None):
        wifi = _world.call("wifi")
        if param == "rssi":
            return wifi["rssi"]
        return STAT_GOT_IP if wifi["connected"] else 0
