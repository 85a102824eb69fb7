"""The build: master notebooks → ``otter assign`` → validation → ``dist/<name>/``.

:mod:`pipeline` runs it (``autograder build``); the other modules are its steps: the build
manifest (:mod:`manifest`), filling solutions (:mod:`inject`), experiment cells
(:mod:`experiment_cells`), the bundle's import closure (:mod:`closure`), leak checks
(:mod:`leaks`), fixture submissions and their expected scores (:mod:`fixtures`, :mod:`scores`),
recorded hypothesis examples (:mod:`recorded_examples`), otter's CLI (:mod:`otter_cli`) and
deterministic zips (:mod:`zips`). Nothing here ships in a bundle.
"""
