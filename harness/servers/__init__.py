"""Servers the harness starts: real third-party peers (aiosmtpd, Postfix's smtp-sink) and tiny
socket servers written in the test process (silent, refusing)."""
