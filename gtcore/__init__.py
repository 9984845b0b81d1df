"""gtcore: everything the Global Tables dashboard does, with boto3 and no UI framework.

Modules hold one concern each: `target` (what to talk to), `errors` (what went wrong, in words a
person can act on), `probes` (read-only looks), `actions` (changes), `experiments` (lag probe,
conflict lab, failover drill, Jepsen-style with a history and a checker) and `emulator` (the local
multi-region Global Tables emulator that is the product's offline default).
"""

__version__ = "0.1.0"
