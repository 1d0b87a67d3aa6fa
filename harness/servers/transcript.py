"""A recorded SMTP session as the server saw it, with CR and LF made visible for assert messages."""

from __future__ import annotations

from dataclasses import dataclass, field


def visible(data: bytes) -> str:
    """Bytes as one readable line per protocol line: CR and LF shown as \\r and \\n."""
    text = data.decode("latin-1")
    out = []
    for ch in text:
        if ch == "\r":
            out.append("\\r")
        elif ch == "\n":
            out.append("\\n\n")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


@dataclass
class Session:
    """One connection: the lines in order (direction 'C' or 'S', bytes) and the messages taken."""

    conn: int
    lines: list[tuple[str, bytes]] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)
    closed: bool = False

    def client_lines(self) -> list[bytes]:
        return [data for direction, data in self.lines if direction == "C"]

    def commands(self) -> list[str]:
        """The client's command verbs in order (MAIL, RCPT, DATA, RSET, QUIT...), data lines excluded."""
        verbs = []
        in_data = False
        for direction, data in self.lines:
            if direction == "S":
                if data.startswith(b"354"):
                    in_data = True
                continue
            if in_data:
                if data == b".\r\n":
                    in_data = False
                continue
            verbs.append(data.split(b" ", 1)[0].split(b":", 1)[0].strip().upper().decode("latin-1"))
        return verbs

    def command_lines(self, verb: str) -> list[bytes]:
        verb = verb.upper().encode()
        return [d for d in self.client_lines() if d.upper().startswith(verb)]

    def render(self) -> str:
        return "".join(f"{direction}: {visible(data)}" for direction, data in self.lines)
