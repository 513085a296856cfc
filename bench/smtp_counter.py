"""A loopback SMTP server for benchmarks: aiosmtpd, writing each accepted message to a
directory (no fsync, unlike aiosmtpd's Maildir handler, whose per-message disk sync would
measure the disk rather than Heartbeats).

    python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c smtp_counter.Store DIR   (with bench/ on PYTHONPATH)
"""
import itertools
import os


class Store:
    def __init__(self, directory):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.seq = itertools.count()

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("Store needs a directory")
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        name = os.path.join(self.directory, f"{next(self.seq):06}.eml")
        with open(name, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        return "250 OK"
