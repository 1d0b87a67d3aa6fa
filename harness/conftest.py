"""Loads harness/plugin.py (options, header, summary, fixtures) unless `-p harness.plugin` already
did: registering its hooks twice would add its command-line options twice."""

import sys

if "harness.plugin" not in sys.modules:
    from harness.plugin import *  # noqa: F401,F403  (hooks and fixtures, re-exported)
