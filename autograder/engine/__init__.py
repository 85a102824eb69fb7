"""The grading engine. Its packages are the sides of the trust boundary:

``judge/``     trusted, holds the secrets: tests, checks, reference solutions; scores and reports
``jail/``      trusted, holds no secret: starts and confines sandboxes, and reaches them
``sandbox/``   untrusted: runs next to the student's code
``protocol/``  the data format and messages between judge and sandbox (imports neither side)
``shared/``    non-secret helpers both sides use

``gradescope.py`` is the Gradescope entry point. tests/test_engine_layout.py enforces which
package may import which.
"""
