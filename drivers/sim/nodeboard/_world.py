"""The simulated board's link to the world (MicroPython, Unix port): JSON lines over TCP to
the test's or the demo's :class:`drivers.sim.nodes.NodeWorld`.

``call()`` asks the world something (a pin's level, an echo's width, the Wi-Fi); a second
connection brings the interrupts (flow pulses, the leak input rising), which run as
MicroPython schedules soft interrupts on the ESP32: between bytecodes of the main program.
"""

import _thread
import json
import os
import socket

import micropython
import utime

_host, _port = (os.getenv("NODE_WORLD") or "127.0.0.1:0").split(":")
NODE = os.getenv("NODE_ID") or "node"
_handlers = {}


def _connect(role):
    sock = socket.socket()
    sock.connect(socket.getaddrinfo(_host, int(_port))[0][-1])
    sock.write((json.dumps({"node": NODE, "channel": role}) + "\n").encode())
    return sock


_rpc = _connect("rpc")


def call(op, **args):
    args["op"] = op
    _rpc.write((json.dumps(args) + "\n").encode())
    line = _rpc.readline()
    if not line:
        raise OSError("the simulated world went away")
    reply = json.loads(line)
    if "error" in reply:
        raise ValueError(reply["error"])
    return reply.get("result")


def _interrupts():
    sock = _connect("irq")
    while True:
        line = sock.readline()
        if not line:
            return
        event = json.loads(line)
        handler = _handlers.get(event["pin"])
        if handler is None:
            continue
        for _ in range(event.get("count", 1)):
            while True:
                try:
                    micropython.schedule(handler[0], handler[1])
                    break
                except RuntimeError:  # the schedule queue is full: as a real pin, wait
                    utime.sleep_ms(1)


def irq(pin, handler, trigger):
    _handlers[pin.id] = (handler, pin)
    call("irq", pin=pin.id, trigger=trigger)


_thread.start_new_thread(_interrupts, ())
