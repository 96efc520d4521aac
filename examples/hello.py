"""Berth's hello world: `berth run examples/hello.py`."""

import platform
import sys

print("Hello from Berth!")
print(f"Python {platform.python_version()} ({sys.implementation.name}) on {platform.system()} {platform.machine()}")
