#!/usr/bin/env python3
"""What SQLite itself costs per relayed message, outside .NET.

Replays, on the server's own schema (the migration scripts), the statements the writer runs for one accepted 1 KiB
send and, 200 sends later, its acknowledgement: savepoint, idempotency lookup, conversation and participants, envelope
row, recipient copy, the two deletes of the acknowledgement (with secure_delete on, as the server's writer). 200 units per transaction,
synchronous=FULL, WAL, foreign keys on, as the server's writer. Prints microseconds per message, overall and per
statement (Python's own call overhead, about 1 us a statement, included).

    python3 tests/Messaging.LoadTest/storage/sqlite_send_cost.py [--units-per-commit N] [variant ...]

Variants change the schema or the keys to see what a change would save: base (as shipped), no-autoincrement,
no-expiry-index, blob-ids (16-byte GUIDs instead of text); audit (as shipped before issue 12: an envelope.accepted
audit head read and entry per send, secure_delete off) and secure-delete-off (as shipped, without secure_delete);
no-savepoint (base without the unit's SAVEPOINT and RELEASE: the server's writer since 2026-11-28 runs a unit without
them unless a unit of the batch fails after writing).

--units-per-commit (default 200) is how many units share a commit. The server's writer commits whatever is queued when
it is free, so at a given load its batches may be smaller than 200; every commit writes each page the batch changed
into the WAL once, so smaller batches cost more per message. To compare with a server run, give the batch size that run
committed (its messages divided by its commits, e.g. the fsync calls of the writer thread counted with perf stat).
"""
import hashlib
import os
import pathlib
import random
import sqlite3
import sys
import tempfile
import time
import uuid

MIGRATIONS = pathlib.Path(__file__).resolve().parents[3] / "src/Messaging.Server/Persistence/Migrations/Sqlite"
MESSAGES, PAIRS = 20_000, 100
UNITS_PER_COMMIT = 200


def run(variant):
    folder = tempfile.mkdtemp(prefix="sqlite-send-cost-")
    db = sqlite3.connect(os.path.join(folder, "t.db"), isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "wal_autocheckpoint=10000"):
        db.execute(f"PRAGMA {pragma}")
    if variant not in ("audit", "secure-delete-off"):
        db.execute("PRAGMA secure_delete=ON")
    for script in sorted(MIGRATIONS.glob("*.sql")):
        sql = script.read_text()
        if variant == "no-autoincrement":
            sql = sql.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER PRIMARY KEY")
        if variant == "no-expiry-index":
            sql = sql.replace("CREATE INDEX ix_envelopes_expires ON envelopes (expires_at);", "")
        db.executescript(sql)
    new_id = (lambda: uuid.uuid4().bytes) if variant == "blob-ids" else (lambda: str(uuid.uuid4()))

    # Seed: one organisation, 200 workers with one device each, 100 two-member conversations.
    db.execute("PRAGMA ignore_check_constraints=ON")
    organisation = new_id()
    columns = [r[1] for r in db.execute("PRAGMA table_info(organisations)")]
    db.execute(f"INSERT INTO organisations ({','.join(columns)}) VALUES ({','.join('?' * len(columns))})",
               [organisation if c == "id" else 0 if c.endswith("_at") else "x" for c in columns])
    members, devices, conversations = [], [], []
    for i in range(2 * PAIRS):
        member, device = new_id(), new_id()
        db.execute("INSERT INTO members (id, organisation_id, display_name, role, work_email, created_at) VALUES (?,?,?,?,?,0)",
                   (member, organisation, "w", "worker", f"{i}@example.org"))
        db.execute("INSERT INTO devices (id, member_id, identity_key, signed_prekey_id, signed_prekey_public, signed_prekey_signature, status, created_at)"
                   " VALUES (?,?,?,1,?,?,'active',0)", (device, member, os.urandom(32), os.urandom(32), os.urandom(64)))
        members.append(member)
        devices.append(device)
    for i in range(PAIRS):
        conversation = new_id()
        db.execute("INSERT INTO conversations (id, collective, created_by_member_id, created_at) VALUES (?,0,?,0)", (conversation, members[i]))
        db.execute("INSERT INTO conversation_members (conversation_id, member_id, added_at) VALUES (?,?,0)", (conversation, members[i]))
        db.execute("INSERT INTO conversation_members (conversation_id, member_id, added_at) VALUES (?,?,1)", (conversation, members[i + PAIRS]))
        conversations.append(conversation)

    spent = {}

    def timed(name, call):
        started = time.perf_counter()
        result = call()
        spent[name] = spent.get(name, 0.0) + time.perf_counter() - started
        return result

    ciphertext = os.urandom(1100)
    unacknowledged = []
    started, cpu_started = time.perf_counter(), time.thread_time()
    for _ in range(MESSAGES // UNITS_PER_COMMIT):
        db.execute("BEGIN IMMEDIATE")
        for _ in range(UNITS_PER_COMMIT):
            pair, side = random.randrange(PAIRS), random.randrange(2)
            sender, member = devices[pair + PAIRS * side], members[pair + PAIRS * side]
            recipient, conversation, envelope = devices[pair + PAIRS * (1 - side)], conversations[pair], new_id()
            if variant != "no-savepoint":
                timed("savepoint + release", lambda: db.execute("SAVEPOINT unit"))
            timed("idempotency lookup", lambda: db.execute(
                "SELECT seq, created_at, expires_at FROM envelopes WHERE sender_device_id = ? AND envelope_id = ?", (sender, envelope)).fetchall())
            timed("conversation", lambda: db.execute(
                "SELECT id, collective, created_by_member_id, created_at FROM conversations WHERE id = ?", (conversation,)).fetchall())
            timed("participants and devices", lambda: db.execute(
                "SELECT cm.member_id, m.role, d.id FROM conversation_members cm JOIN members m ON m.id = cm.member_id"
                " LEFT JOIN devices d ON d.member_id = cm.member_id AND d.status = 'active'"
                " WHERE cm.conversation_id = ? ORDER BY cm.member_id, d.created_at, d.id", (conversation,)).fetchall())
            sequence = timed("insert envelope", lambda: db.execute(
                "INSERT INTO envelopes (sender_device_id, sender_member_id, envelope_id, conversation_id, kind, created_at, expires_at)"
                " VALUES (?,?,?,?,1,1,2) RETURNING seq", (sender, member, envelope, conversation)).fetchone()[0])
            timed("insert copy", lambda: db.execute(
                "INSERT INTO envelope_recipients (recipient_device_id, envelope_seq, ciphertext) VALUES (?,?,?)", (recipient, sequence, ciphertext)))
            if variant == "audit":
                head = timed("audit head", lambda: db.execute("SELECT idx, hash FROM audit_log ORDER BY idx DESC LIMIT 1").fetchone())
                subjects = f"conversation:{conversation};envelope:{envelope}"
                timed("audit insert", lambda: db.execute(
                    "INSERT INTO audit_log (idx, occurred_at, event_type, actor_member_id, actor_device_id, subjects, detail, prev_hash, hash)"
                    " VALUES (?,1,'envelope.accepted',?,?,?,'chat',?,?)",
                    (0 if head is None else head[0] + 1, str(member), str(sender), subjects, head[1] if head else bytes(32),
                     hashlib.sha256(subjects.encode()).digest())))
            unacknowledged.append((recipient, sequence))
            if len(unacknowledged) > 2 * PAIRS:
                device, acknowledged = unacknowledged.pop(0)
                timed("ack: delete copy", lambda: db.execute(
                    "DELETE FROM envelope_recipients WHERE recipient_device_id = ? AND envelope_seq = ?", (device, acknowledged)))
                timed("ack: delete envelope", lambda: db.execute(
                    "DELETE FROM envelopes WHERE seq = ? AND NOT EXISTS (SELECT 1 FROM envelope_recipients r WHERE r.envelope_seq = ?)",
                    (acknowledged, acknowledged)))
            if variant != "no-savepoint":
                timed("savepoint + release", lambda: db.execute("RELEASE unit"))
        timed("commit (fsync)", lambda: db.execute("COMMIT"))
    elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
    messages = MESSAGES // UNITS_PER_COMMIT * UNITS_PER_COMMIT
    print(f"{variant}, {UNITS_PER_COMMIT} units per commit: {elapsed / messages * 1e6:.1f} us per message"
          f" ({messages / elapsed:.0f} messages/s on one thread); CPU {cpu / messages * 1e6:.1f} us per message")
    for name, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"  {name:26s} {seconds / messages * 1e6:6.1f} us")
    db.close()


arguments = sys.argv[1:]
if "--units-per-commit" in arguments:
    at = arguments.index("--units-per-commit")
    UNITS_PER_COMMIT = int(arguments[at + 1])
    del arguments[at:at + 2]
for requested in arguments or ["base"]:
    run(requested)
