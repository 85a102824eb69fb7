"""THE JUDGE (trusted, holds the tests, the checks and the references): reads bundles and
submissions as data, runs every test in its own process against a remote view of the sandbox,
scores and reports. It reaches sandboxes only through the jail's client and the protocol."""
