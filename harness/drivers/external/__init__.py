"""Drivers for SMTP clients that are not ours (issue 18), one module each; the contract is in
base.py and harness/README.md ("Other clients: the driver contract").

`DRIVERS` maps a client name, as `--clients` takes it, to its driver. Adding a client: a module
with a `base.Driver` subclass, one line here, one row in the README's table.
"""

from __future__ import annotations

from harness.drivers.external import base
from harness.drivers.external.curl import Curl
from harness.drivers.external.go_smtp import GoSmtp
from harness.drivers.external.msmtp import Msmtp
from harness.drivers.external.nodemailer import Nodemailer
from harness.drivers.external.swaks import Swaks

DRIVERS: dict[str, base.Driver] = {d.name: d for d in (Curl(), Swaks(), Msmtp(), GoSmtp(),
                                                      Nodemailer())}
# The Debian-packaged drivers CI runs over the corpus next to the default matrix.
DEBIAN = ("curl", "swaks", "msmtp")


def get(name: str) -> base.Driver | None:
    return DRIVERS.get(name)
