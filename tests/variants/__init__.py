"""The metamorphic harness: meaning-preserving rewrites of every fixture and rule example.

A finding that holds only for one spelling of its mistake is a finding users cannot trust. Each module
here is a family of libcst rewrites (renames, reassignments, splits and joins, helpers, moves into other
modules, configuration sources, aliases, wrappers, annotations); ``harness`` applies them to the fixtures
and compares what hs-lint reports on each variant with the ``# expect:`` marks the rewrite carried along.
``python -m tests.variants --report`` prints the survival table.
"""
