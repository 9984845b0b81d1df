"""`python -m setup`: create (and remove) the workshop's global table, replicas, sample data and
regional API, against the local emulator or real AWS. The work itself is in gtcore.workshop."""
