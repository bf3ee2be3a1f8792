"""The local sandbox: a Snowflake-compatible server (fakesnow) and HTTP stand-ins for idiCORE and CCC.

Everything here follows the vendor contracts in DESIGN.md so the real clients can be exercised over
loopback. Nothing in the pipeline imports this package.
"""
