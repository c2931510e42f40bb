#!/usr/bin/python3
"""A loopback SMTP server for the tests (Debian python3-aiosmtpd), with AUTH and failure injection.

Messages are stored as <dir>/mail/<recipient>/<n>.eml. A test makes the server fail for one recipient by writing
<dir>/control/<recipient>.fail containing N (the next N DATA commands for it answer 451, then it recovers) or
<dir>/control/<recipient>.reject (550 for good). Recipients are unique per test, so tests never share state.
"""
import argparse
import os
import signal
import threading
import uuid

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, root):
        self.root = root
        self.lock = threading.Lock()

    def _control(self, rcpt, suffix):
        return os.path.join(self.root, "control", rcpt.lower() + suffix)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                if os.path.exists(self._control(rcpt, ".reject")):
                    return "550 5.1.1 Mailbox unavailable"
                fail = self._control(rcpt, ".fail")
                if os.path.exists(fail):
                    with open(fail) as f:
                        left = int(f.read().strip() or "0")
                    if left > 0:
                        with open(fail, "w") as f:
                            f.write(str(left - 1))
                        return "451 4.3.0 Temporary failure, try again later"
            for rcpt in envelope.rcpt_tos:
                folder = os.path.join(self.root, "mail", rcpt.lower())
                os.makedirs(folder, exist_ok=True)
                tmp = os.path.join(folder, "." + uuid.uuid4().hex)
                with open(tmp, "wb") as f:
                    f.write(envelope.original_content or envelope.content)
                os.rename(tmp, os.path.join(folder, uuid.uuid4().hex + ".eml"))
        return "250 2.0.0 OK"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()
    os.makedirs(os.path.join(args.dir, "control"), exist_ok=True)
    os.makedirs(os.path.join(args.dir, "mail"), exist_ok=True)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == args.user \
            and auth_data.password.decode() == args.password
        return AuthResult(success=ok, handled=False)

    controller = Controller(Handler(args.dir), hostname="127.0.0.1", port=args.port,
                            authenticator=authenticator, auth_required=True, auth_require_tls=False)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
