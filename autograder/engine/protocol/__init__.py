"""THE PROTOCOL between the trusted judge and the untrusted sandbox: messages, the data codec,
framing, the code format of functions and the data format of modules sent across, the limits
a sandbox runs under. It imports neither side (tests/test_engine_layout.py enforces it)."""
