FOO = 1
