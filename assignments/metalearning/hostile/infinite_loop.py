"""Loops forever in one graded function (every other answer is right).

The notebook's own gradient-descent cell calls it (that cell is cut off and skipped), and so does
the public test of gradient_descent_c, whose hidden check grades it with the reference
alias_c_gradient and passes.

base: solution
expect: alias_c_gradient=zero, gradient_descent_c=hidden
"""


def alias_c_gradient(c):
    while True:
        pass
