"""THE SANDBOX RUNTIME (untrusted): what runs in a confined child next to the student's code:
the notebook shell, the engine's request loop, and otter's own grading for bundles handed to it.
It imports only the protocol and the shared helpers: no test, check or reference is reachable."""
