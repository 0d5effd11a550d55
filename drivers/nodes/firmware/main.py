"""Runs at every boot and wake (MicroPython's ``main.py``)."""

import node

node.main()
