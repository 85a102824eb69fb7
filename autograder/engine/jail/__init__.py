"""THE JAIL (trusted, holds no secret): the warm fork server that starts every sandbox, the
confinement it applies (namespaces, user, cgroups, limits), the judge's client to it, and the
machine-wide sandbox slots. It may start the untrusted runtime; it never imports the judge,
the checks or the reference solutions."""
