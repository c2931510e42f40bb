# Recomputes m1..m3 of docs/crypto.md from sections 4-5 alone, without libsodium.
import hashlib, struct, sys
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

def pub(sk): return X25519PrivateKey.from_private_bytes(sk).public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
def dh(sk, pk): return X25519PrivateKey.from_private_bytes(sk).exchange(X25519PublicKey.from_public_bytes(pk))
def kdf_rk(rk, d):
    o = hashlib.blake2b(d, key=rk, person=b"messaging.rk.v1\0", digest_size=64).digest(); return o[:32], o[32:]
def kdf_ck(ck):
    o = hashlib.blake2b(b"", key=ck, person=b"messaging.ck.v1\0", digest_size=64).digest(); return o[:32], o[32:]
def rotl(v, c): return ((v << c) & 0xffffffff) | (v >> (32 - c))
def qr(s, a, b, c, d):
    s[a]=(s[a]+s[b])&0xffffffff; s[d]=rotl(s[d]^s[a],16)
    s[c]=(s[c]+s[d])&0xffffffff; s[b]=rotl(s[b]^s[c],12)
    s[a]=(s[a]+s[b])&0xffffffff; s[d]=rotl(s[d]^s[a],8)
    s[c]=(s[c]+s[d])&0xffffffff; s[b]=rotl(s[b]^s[c],7)
def hchacha20(key, n16):
    s = list(struct.unpack("<4I", b"expand 32-byte k")) + list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", n16))
    for _ in range(10):
        qr(s,0,4,8,12); qr(s,1,5,9,13); qr(s,2,6,10,14); qr(s,3,7,11,15)
        qr(s,0,5,10,15); qr(s,1,6,11,12); qr(s,2,7,8,13); qr(s,3,4,9,14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))
def xaead(key, nonce, pt, ad):
    return ChaCha20Poly1305(hchacha20(key, nonce[:16])).encrypt(b"\0\0\0\0" + nonce[16:], pt, ad)

doc = open(sys.argv[1]).read()
def vec(name):
    import re
    m = re.search(r"\| " + re.escape(name) + r" \| `([0-9a-f]+)` \|", doc); return bytes.fromhex(m.group(1))
sk, ad = vec("x3dh.sk"), vec("x3dh.ad")
alice_id, ek, spk_pub = vec("alice.identity"), vec("alice.ek.public"), vec("bob.spk.public")
spk_secret = bytes(range(0x80, 0xa0))
e1, e2, e3 = bytes([0xe1])*32, bytes([0xe2])*32, bytes([0xe3])*32
n1, n2, n3 = bytes([0xf1])*24, bytes([0xf2])*24, bytes([0xf3])*24

# Alice initialises and sends m1 (prekey message with OPK id 2, SPK id 1).
rk_a, cks_a = kdf_rk(sk, dh(e1, spk_pub))
prefix = b"\x02\x02" + alice_id + ek + struct.pack(">I", 1) + b"\x01" + struct.pack(">I", 2)
header = pub(e1) + struct.pack(">II", 0, 0)
mk, cks_a = kdf_ck(cks_a)
m1 = prefix + header + n1 + xaead(mk, n1, b"hello bob", ad + prefix + header + n1 + b"vector-1")
# Bob: responder, RK = SK, DHs = SPK; receives Alice's ratchet key, then steps with e2 and sends m2.
rk_b, ckr_b = kdf_rk(sk, dh(spk_secret, pub(e1)))
rk_b, cks_b = kdf_rk(rk_b, dh(e2, pub(e1)))
header = pub(e2) + struct.pack(">II", 0, 0)
mk, cks_b = kdf_ck(cks_b)
m2 = b"\x02\x01" + header + n2 + xaead(mk, n2, b"hello alice", ad + b"\x02\x01" + header + n2 + b"vector-2")
# Alice receives m2 (a DH step), steps with e3, sends m3 (PN = 1).
rk_a, ckr_a = kdf_rk(rk_a, dh(e1, pub(e2)))
rk_a, cks_a = kdf_rk(rk_a, dh(e3, pub(e2)))
header = pub(e3) + struct.pack(">II", 1, 0)
mk, cks_a = kdf_ck(cks_a)
m3 = b"\x02\x01" + header + n3 + xaead(mk, n3, b"third", ad + b"\x02\x01" + header + n3)
for name, value in (("m1", m1), ("m2", m2), ("m3", m3)):
    print(name, value.hex(), "matches" if value == vec(name) else "DIFFERS")
