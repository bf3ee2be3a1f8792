"""The local sandbox: a Snowflake-compatible server (fakesnow) and HTTP stand-ins for idiCORE and CCC.

Everything here follows the vendor contracts in DESIGN.md so the real clients can be exercised over
loopback. It may import `core` and `adapters` (the warehouse session that seeds LEADS); the pipeline
(`defs`) never imports it, and it never imports the commands (`cli`).
"""
