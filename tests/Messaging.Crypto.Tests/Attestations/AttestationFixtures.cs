using System.Buffers.Binary;
using System.Text;
using Messaging.Crypto.Attestations;
using Messaging.Crypto.Keys;

namespace Messaging.Crypto.Tests.Attestations;

/// <summary>The known-answer record and keys, and a raw encoder for building non-canonical inputs.</summary>
internal static class AttestationFixtures
{
    public const string KnownAnswerEncodingHex =
        "010011617474656e64616e63652d6e6f7469636500060002617404000000080000018bcfe568000008617474656e646564"
        + "0500000001010008636173652d726566010000000b432d323032342d3031313700066469676573740300000004deadbeef"
        + "00056e6f746573010000001352656e64657a2d766f757320686f6e6f72c3a9000873657175656e63650200000008ffff"
        + "fffffffffffe";

    public const string KnownAnswerSignatureHex =
        "5ef4d04d5c681eda4add87aa6fe564b526fc36624090e7a694f335c94f18d571"
        + "f3744a46545e2538853756110c053d34be1c72cca60e439bfea161b964bf850f";

    public const string AliceIdentityHex =
        "0103a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
        + "358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254"
        + "beb03cc1d2bb15c9cd6120d7807a9ad258f97c50c7981ceefdfcdc067ff91388"
        + "552a406f17e1569de579a20dac754895ee9cace9e11c885be1d150aabb07f80c";

    /// <summary>Ed25519 seed 00..1f, X25519 secret 20..3f.</summary>
    public static IdentityKeyPair Alice() => IdentityKeyPair.FromSecrets(Bytes(0, 32), Bytes(32, 32));

    /// <summary>Ed25519 seed 40..5f, X25519 secret 60..7f.</summary>
    public static IdentityKeyPair Bob() => IdentityKeyPair.FromSecrets(Bytes(64, 32), Bytes(96, 32));

    public static KeyValuePair<string, AttestationValue>[] KnownAnswerFields() =>
    [
        new("notes", AttestationValue.FromString("Rendez-vous honor\u00e9")),
        new("case-ref", AttestationValue.FromString("C-2024-0117")),
        new("sequence", AttestationValue.FromInt64(-2)),
        new("attended", AttestationValue.FromBoolean(true)),
        new("digest", AttestationValue.FromBytes([0xde, 0xad, 0xbe, 0xef])),
        new("at", AttestationValue.FromUnixMilliseconds(1_700_000_000_000)),
    ];

    public static Attestation KnownAnswerAttestation() => Attestation.Create("attendance-notice", KnownAnswerFields());

    public static byte[] Bytes(int first, int count) => Enumerable.Range(first, count).Select(i => (byte)i).ToArray();

    /// <summary>Writes the version-1 layout from raw parts, without any of the encoder's checks.</summary>
    internal sealed class RawEncoding
    {
        private readonly List<byte> _bytes = [];

        public RawEncoding Version(byte version = Attestation.FormatVersion)
        {
            _bytes.Add(version);
            return this;
        }

        public RawEncoding Name(string name) => Name(Encoding.UTF8.GetBytes(name));

        public RawEncoding Name(byte[] name)
        {
            U16((ushort)name.Length);
            _bytes.AddRange(name);
            return this;
        }

        public RawEncoding U16(ushort value)
        {
            var buffer = new byte[2];
            BinaryPrimitives.WriteUInt16BigEndian(buffer, value);
            _bytes.AddRange(buffer);
            return this;
        }

        public RawEncoding Field(string name, byte tag, byte[] value) => Field(name, tag, value, (uint)value.Length);

        public RawEncoding Field(string name, byte tag, byte[] value, uint declaredLength)
        {
            Name(name);
            _bytes.Add(tag);
            var length = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(length, declaredLength);
            _bytes.AddRange(length);
            _bytes.AddRange(value);
            return this;
        }

        public RawEncoding Raw(params byte[] bytes)
        {
            _bytes.AddRange(bytes);
            return this;
        }

        public byte[] ToArray() => [.. _bytes];
    }
}
