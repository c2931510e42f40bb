#!/usr/bin/env python3
"""What PostgreSQL itself costs per relayed message, outside .NET: the twin of sqlite_send_cost.py.

Replays with pgbench (C, prepared statements, one connection per client), on the server's own PostgreSQL schema (the
migration scripts), the statements the server runs for one accepted 1 KiB send and one acknowledgement, in one
transaction at the isolation the server uses (SERIALIZABLE): idempotency lookup, conversation, participants and devices,
envelope row (RETURNING seq), recipient copy, then the acknowledgement's two deletes (of the envelope this client sent in
its previous transaction). Seed: 200 workers with one device each, 100 two-member conversations, as the load tool.
Ids are 36-character text like the server's GUIDs, built in the statements from pgbench's integers ('…' || n: a string
concatenation per id, well under a microsecond).

Needs the cluster of services.sh (PGHOST, PGPORT, PGUSER, PGPASSWORD and MESSAGING_LOAD_POSTGRES_PID exported):

    source tests/Messaging.LoadTest/storage/services.sh && services_start
    python3 tests/Messaging.LoadTest/storage/postgres_send_cost.py [--seconds 20] [--rate N] [variant:clients ...]

Variants: serializable (as the server) or read-committed; clients: concurrent connections (default serializable:1,
serializable:8, read-committed:8). Prints per variant: messages/s, wall time per message on one client, PostgreSQL's CPU
per message (the postmaster and all its children, from /proc, sampled while pgbench runs and scaled to the run), pgbench's own CPU per message, and the transactions
pgbench had to retry after a serialization failure (--max-tries 10, as the server's PostgresDatabase.MaxAttempts) or
that failed all ten attempts. With --rate N, pgbench paces the transactions at N per second in all (an open loop, as the
load tool's realistic load) and the latency percentiles of every transaction are printed too.
"""
import os
import pathlib
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

MIGRATIONS = pathlib.Path(__file__).resolve().parents[3] / "src/Messaging.Server/Persistence/Migrations/Postgres"
PAIRS = 100
TICK = os.sysconf("SC_CLK_TCK")


def ident(kind, n):
    """A 36-character id, the length of the server's GUID text."""
    return f"'{kind}' || lpad({n}::text, {36 - len(kind)}, '0')"


SCRIPT = f"""
\\set pair random(0, {PAIRS - 1})
\\set side random(0, 1)
\\set sender :pair + {PAIRS} * :side
\\set recipient :pair + {PAIRS} * (1 - :side)
\\set e random(1, 1000000000000)
BEGIN ISOLATION LEVEL __ISOLATION__;
SELECT seq, created_at, expires_at FROM envelopes WHERE sender_device_id = {ident('d', ':sender')} AND envelope_id = {ident('e', ':e')};
SELECT id, collective, created_by_member_id, created_at FROM conversations WHERE id = {ident('c', ':pair')};
SELECT cm.member_id, m.role, d.id FROM conversation_members cm JOIN members m ON m.id = cm.member_id LEFT JOIN devices d ON d.member_id = cm.member_id AND d.status = 'active' WHERE cm.conversation_id = {ident('c', ':pair')} ORDER BY cm.member_id, d.created_at, d.id;
INSERT INTO envelopes (sender_device_id, sender_member_id, envelope_id, conversation_id, kind, created_at, expires_at) VALUES ({ident('d', ':sender')}, {ident('m', ':sender')}, {ident('e', ':e')}, {ident('c', ':pair')}, 1, 1, 2) RETURNING seq AS cur \\gset
INSERT INTO envelope_recipients (recipient_device_id, envelope_seq, ciphertext) VALUES ({ident('d', ':recipient')}, :cur, :cipher::bytea);
DELETE FROM envelope_recipients WHERE recipient_device_id = {ident('d', ':prevdev')} AND envelope_seq = :prev;
DELETE FROM envelopes WHERE seq = :prev AND NOT EXISTS (SELECT 1 FROM envelope_recipients r WHERE r.envelope_seq = :prev);
END;
\\set prev :cur
\\set prevdev :recipient
"""

SEED = f"""
INSERT INTO organisations (id, name, type, created_at) VALUES ('o' || lpad('0', 35, '0'), 'Service', 'prevention_service', 0);
INSERT INTO members (id, organisation_id, display_name, role, work_email, created_at)
  SELECT 'm' || lpad(n::text, 35, '0'), 'o' || lpad('0', 35, '0'), 'w', 'worker', n || '@example.org', 0 FROM generate_series(0, {2 * PAIRS - 1}) n;
INSERT INTO devices (id, member_id, identity_key, signed_prekey_id, signed_prekey_public, signed_prekey_signature, status, created_at)
  SELECT 'd' || lpad(n::text, 35, '0'), 'm' || lpad(n::text, 35, '0'), sha256(n::text::bytea), 1, sha256(n::text::bytea), sha512(n::text::bytea), 'active', 0
  FROM generate_series(0, {2 * PAIRS - 1}) n;
INSERT INTO conversations (id, collective, created_by_member_id, created_at)
  SELECT 'c' || lpad(n::text, 35, '0'), 0, 'm' || lpad(n::text, 35, '0'), 0 FROM generate_series(0, {PAIRS - 1}) n;
INSERT INTO conversation_members (conversation_id, member_id, added_at)
  SELECT 'c' || lpad(n::text, 35, '0'), 'm' || lpad(n::text, 35, '0'), 0 FROM generate_series(0, {PAIRS - 1}) n;
INSERT INTO conversation_members (conversation_id, member_id, added_at)
  SELECT 'c' || lpad(n::text, 35, '0'), 'm' || lpad((n + {PAIRS})::text, 35, '0'), 1 FROM generate_series(0, {PAIRS - 1}) n;
ANALYZE;
"""


def psql(database, sql=None, file=None):
    command = ["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", "-d", database]
    command += ["-f", str(file)] if file else ["-c", sql]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def cluster_cpu(root):
    """CPU seconds of the postmaster and its children (the backends)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == root or int(fields[1]) == root:
            total += int(fields[11]) + int(fields[12])
    return total / TICK


def latencies(prefix):
    """p50, p99, p99.9 and max of the transactions pgbench logged (-l), in milliseconds."""
    times = sorted(int(line.split()[2]) / 1000 for log in pathlib.Path(prefix).parent.glob(pathlib.Path(prefix).name + ".*")
                   for line in log.read_text().splitlines())
    return (f"latency p50 {times[len(times) // 2]:.2f} ms, p99 {times[int(len(times) * 0.99)]:.2f}, "
            f"p99.9 {times[int(len(times) * 0.999)]:.2f}, max {times[-1]:.2f} ({len(times)} transactions)")


def run(isolation, clients, seconds, root, rate=None):
    database = f"send_cost_{os.getpid()}_{isolation.replace('-', '_')}_{clients}"
    logs = tempfile.mkdtemp()
    psql("postgres", f"CREATE DATABASE {database};")
    try:
        for script in sorted(MIGRATIONS.glob("*.sql")):
            psql(database, file=script)
        psql(database, SEED)
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
            script.write(SCRIPT.replace("__ISOLATION__", isolation.upper().replace("-", " ")))
        cipher = "\\x" + os.urandom(1100).hex()
        command = ["pgbench", "-n", "-M", "prepared", "-f", script.name, "-c", str(clients), "-j", str(min(clients, 2)),
                   "-T", str(seconds), "--max-tries", "10", "-D", "prev=0", "-D", "prevdev=0", "-D", f"cipher={cipher}"]
        if rate:
            # Paced (an open loop, as the load tool's realistic load), every transaction's latency logged.
            command += ["-R", str(rate), "-l", "--log-prefix", os.path.join(logs, "tx")]
        command.append(database)
        before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        bench = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # The backends exit with pgbench's connections and take their CPU time with them: sample the cluster while
        # they run (from 1 s in to 1 s before the end) and scale to the whole run.
        time.sleep(1)
        sample_start, cluster_start = time.perf_counter(), cluster_cpu(root)
        time.sleep(max(1, seconds - 2))
        sampled, cluster_sampled = time.perf_counter() - sample_start, cluster_cpu(root) - cluster_start
        output, errors = bench.communicate()
        if bench.returncode != 0:
            raise RuntimeError(errors)
        elapsed = time.perf_counter() - started
        cluster = cluster_sampled / sampled * elapsed
        after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
        pgbench_cpu = (after_children.ru_utime - before_children.ru_utime) + (after_children.ru_stime - before_children.ru_stime)
        os.unlink(script.name)
        done = int(re.search(r"number of transactions actually processed: (\d+)", output).group(1))
        failed = re.search(r"number of failed transactions: (\d+)", output)
        retried = re.search(r"number of transactions retried: (\d+)", output)
        retries = re.search(r"total number of retries: (\d+)", output)
        print(f"{isolation}, {clients} client(s), {seconds} s: {done / elapsed:.0f} messages/s; wall {elapsed / done * 1e6 * clients:.1f} us per message per client; "
              f"PostgreSQL CPU {cluster / done * 1e6:.1f} us per message ({cluster / elapsed:.2f} cores); pgbench CPU {pgbench_cpu / done * 1e6:.1f} us per message; "
              f"retried after a serialization failure: {retried.group(1) if retried else 0} transactions ({retries.group(1) if retries else 0} retries); "
              f"failed all 10 tries: {failed.group(1) if failed else 0}")
        if rate:
            print(f"  paced at {rate}/s: {latencies(os.path.join(logs, 'tx'))}")
        sys.stdout.flush()
    finally:
        shutil.rmtree(logs)
        psql("postgres", f"DROP DATABASE IF EXISTS {database} WITH (FORCE);")


def main():
    arguments = sys.argv[1:]
    seconds = 20
    if "--seconds" in arguments:
        index = arguments.index("--seconds")
        seconds = int(arguments[index + 1])
        del arguments[index:index + 2]
    rate = None
    if "--rate" in arguments:
        index = arguments.index("--rate")
        rate = int(arguments[index + 1])
        del arguments[index:index + 2]
    root = int(os.environ["MESSAGING_LOAD_POSTGRES_PID"])
    for variant in arguments or ["serializable:1", "serializable:8", "read-committed:8"]:
        isolation, clients = variant.split(":")
        run(isolation, int(clients), seconds, root, rate)


main()
