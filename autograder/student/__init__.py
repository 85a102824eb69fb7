"""Code shipped to students next to their notebook (flat, one module each), not grading code:
:mod:`written_answers` renders the written answers of a saved notebook as a PDF. The build adds it
to every student zip (``autograder/build/student_export.py``); no autograder zip holds it."""
