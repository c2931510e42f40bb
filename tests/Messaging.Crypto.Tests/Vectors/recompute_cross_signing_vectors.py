# Recomputes the cross-signing and membership vectors of docs/crypto.md (sections 11 and 12) from that section alone, without libsodium:
# python3 recompute_cross_signing_vectors.py docs/crypto.md   (prints the values; exit 1 if one differs from the file)
import hashlib, re, struct, sys, uuid
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives import serialization

RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)
def ed_pub(seed): return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(*RAW)
def sign(seed, label, data): return Ed25519PrivateKey.from_private_bytes(seed).sign(label.encode() + b"\0" + data)
def guid(text): return uuid.UUID(text).bytes  # RFC 4122 (big-endian) order
def ms(value): return struct.pack(">q", value)

member_id, device_id = "11111111-2222-4333-8444-555555555555", "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
remote_id = "99999999-8888-4777-8666-555555555555"
member_seed, remote_seed = bytes(range(0xe0, 0x100)), bytes(range(0x40, 0x60))
issued_at = 1767225600000  # 2026-01-01T00:00:00Z

# The device identity: Alice's of the session vectors (Ed25519 seed 00..1f, X25519 secret 20..3f).
id_seed, x_secret = bytes(range(0x00, 0x20)), bytes(range(0x20, 0x40))
x_pub = X25519PrivateKey.from_private_bytes(x_secret).public_key().public_bytes(*RAW)
identity = b"\x01" + ed_pub(id_seed) + x_pub + sign(id_seed, "messaging.identity-binding.v1", x_pub)

member_pub = ed_pub(member_seed)
body = b"\x01" + guid(member_id) + member_pub + ms(issued_at)
announcement = body + sign(member_seed, "messaging.member-key.v1", body)
body = b"\x01" + guid(member_id) + guid(device_id) + identity + ms(issued_at)
certificate = body + sign(member_seed, "messaging.device-certificate.v1", body)

def iterated(first, suffix, rounds):
    h = hashlib.sha512(first).digest()
    for _ in range(rounds): h = hashlib.sha512(h + suffix).digest()
    return h
def digits(h, chunks): return "".join("%05d" % (int.from_bytes(h[5*i:5*i+5], "big") % 100000) for i in range(chunks))
def grouped(text): return " ".join(text[i:i+5] for i in range(0, len(text), 5))

device = guid(member_id) + identity
h = iterated(b"messaging.device-approval.v2\0" + device, device, 5200)

def fingerprint(stable_id, key): return digits(iterated(b"\x00\x02" + key + stable_id.encode(), key, 5200), 6)
parts = sorted([fingerprint(member_id, member_pub), fingerprint(remote_id, ed_pub(remote_seed))])
safety = grouped(parts[0] + parts[1])

# Conversation membership statements (section 12): the member creates a conversation with the remote member, who then
# adds a third member.
conversation_id, third_id = "cccccccc-dddd-4eee-8fff-000000000001", "77777777-6666-4555-8444-333333333333"
def statement(seed, index, previous, actor, operation, creator, collective, members):
    ids = sorted(guid(m) for m in members)
    body = (b"\x01" + guid(conversation_id) + struct.pack(">Q", index) + previous + guid(actor) + bytes([operation])
            + creator + bytes([collective]) + struct.pack(">H", len(ids)) + b"".join(ids))
    return body + sign(seed, "messaging.conversation-membership.v1", body)
create = statement(member_seed, 0, bytes(32), member_id, 1, guid(member_id), 0, [member_id, remote_id])
add = statement(remote_seed, 1, hashlib.sha256(create).digest(), remote_id, 2, bytes(16), 0, [third_id])

values = {
    "member.public": member_pub.hex(), "member.announcement": announcement.hex(), "device.certificate": certificate.hex(),
    "approval.code": grouped(digits(h, 4)), "approval.hex": h.hex(), "member.safety-number": safety,
    "membership.create": create.hex(), "membership.create.hash": hashlib.sha256(create).hexdigest(), "membership.add": add.hex(),
}
doc = open(sys.argv[1]).read() if len(sys.argv) > 1 else ""
failed = False
for name, value in values.items():
    print(name, value)
    m = re.search(r"\| " + re.escape(name) + r" \| `([^`]+)` \|", doc)
    if doc and (m is None or m.group(1) != value):
        print("  MISMATCH with", sys.argv[1]); failed = True
sys.exit(1 if failed else 0)
