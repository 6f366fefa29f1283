# Check unit tests of the runtime (filled in by tests/unit).
