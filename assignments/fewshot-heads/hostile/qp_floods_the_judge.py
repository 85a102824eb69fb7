"""States the SVM's QP with 20000 copies of its inequalities: a few megabytes that would cost the
judge, which solves what the answer states, terabytes (its presolve compares every pair of rows).

The QP is the right one, repeated: only its size is hostile. The judge refuses it by its shape
before any work and grades the question zero; in the sandbox the given solver runs out of
memory on it, so the public test fails too. Every other answer is the solution's.

base: solution
expect: crammer_singer_qp=zero
"""
import torch
import torch.nn.functional as F


def crammer_singer_qp(Z, labels, num_classes, C, eps):
    n, c = Z.shape[0], num_classes
    y = F.one_hot(labels, c).to(Z.dtype).reshape(-1)
    Q = torch.kron(Z @ Z.T, torch.eye(c, dtype=Z.dtype)) + eps * torch.eye(n * c, dtype=Z.dtype)
    A = torch.kron(torch.eye(n, dtype=Z.dtype), torch.ones(1, c, dtype=Z.dtype))
    copies = max(1, 20000 // (n * c))
    G = torch.eye(n * c, dtype=Z.dtype).repeat(copies, 1)
    return Q, -y, G, (C * y).repeat(copies), A, torch.zeros(n, dtype=Z.dtype)
