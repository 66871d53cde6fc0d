"""Loopback fakes of the platforms' servers (Slack, Discord, SMTP, webhooks) for tests and bench.

A development package: the real client libraries talk to these on 127.0.0.1, so nothing leaves
the machine. It is not shipped in the wheel (neither is `bench/`, its other user); both are
imported from a source checkout, where the project root is on `sys.path`.
"""
