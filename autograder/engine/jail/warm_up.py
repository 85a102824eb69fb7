"""What torch sets up lazily on first use, done once in a long-lived process.

The first ``torch.func`` transform imports sympy and dynamo (~1.5 s) and the first ``jvp`` builds
its decomposition tables (~0.4 s). The fork server runs this before it forks any sandbox where
the bundle's given code uses ``torch.func`` (so no submission pays it again). The judges do not
need it: no hidden check uses ``torch.func``. Nothing here depends on a submission or holds a
secret.
"""

from __future__ import annotations

import torch


def warm_up_torch() -> None:
    x = torch.ones(3)
    torch.func.grad(lambda a: (a * a).sum())(x)
    torch.func.jvp(lambda a: a * 2, (x,), (x,))
    torch.func.vmap(lambda a: a * 2)(x.reshape(3, 1))
