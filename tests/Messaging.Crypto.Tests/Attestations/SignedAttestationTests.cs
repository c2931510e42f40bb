using Messaging.Crypto.Attestations;
using Messaging.Crypto.Primitives;
using static Messaging.Crypto.Tests.Attestations.AttestationFixtures;

namespace Messaging.Crypto.Tests.Attestations;

public sealed class SignedAttestationTests
{
    [Fact]
    public void Sign_KnownAnswerRecordWithFixedSeed_GivesTheExpectedSignatureAndSerialization()
    {
        using var alice = Alice();

        var signed = SignedAttestation.Sign(KnownAnswerAttestation(), alice);

        // Ed25519 is deterministic: the same seed and bytes always give the same signature.
        Assert.Equal(AliceIdentityHex, Convert.ToHexStringLower(alice.PublicKey.ToBytes()));
        Assert.Equal(KnownAnswerSignatureHex, Convert.ToHexStringLower(signed.Signature));
        Assert.Equal("01" + AliceIdentityHex + KnownAnswerSignatureHex + KnownAnswerEncodingHex, Convert.ToHexStringLower(signed.ToBytes()));
        signed.Verify(alice.PublicKey);
    }

    [Fact]
    public void KnownAnswerSignature_IsEd25519OverTheDocumentedLabelAndEncoding()
    {
        using var alice = Alice();
        var message = DomainSignature.Frame("messaging.attestation.v1:attendance-notice", Convert.FromHexString(KnownAnswerEncodingHex));

        Assert.Equal("messaging.attestation.v1:attendance-notice", SignedAttestation.SignatureLabel("attendance-notice"));
        Assert.True(LibSodium.Ed25519Verify(Convert.FromHexString(KnownAnswerSignatureHex), message, alice.PublicKey.SigningKey));
    }

    [Fact]
    public void ParseAndVerify_OfASignedAttestation_RoundTrips()
    {
        using var alice = Alice();
        var original = KnownAnswerAttestation();
        var serialized = SignedAttestation.Sign(original, alice).ToBytes();

        var parsed = SignedAttestation.Parse(serialized);
        var verified = SignedAttestation.ParseAndVerify(serialized, alice.PublicKey);

        Assert.Equal(original, verified);
        Assert.Equal(alice.PublicKey, parsed.Signer);
        Assert.Equal(serialized, parsed.ToBytes());
        Assert.True(verified["attended"].AsBoolean());
        Assert.Equal("Rendez-vous honor\u00e9", verified["notes"].AsString());
        parsed.Verify(alice.PublicKey.SigningKey);
    }

    [Fact]
    public void Verify_WithAnySingleByteOfTheSerializationModified_FailsVerificationOrParsing()
    {
        using var alice = Alice();
        var serialized = SignedAttestation.Sign(KnownAnswerAttestation(), alice).ToBytes();

        foreach (var mask in new byte[] { 0x01, 0x80, 0xFF })
        {
            for (var position = 0; position < serialized.Length; position++)
            {
                var tampered = (byte[])serialized.Clone();
                tampered[position] ^= mask;

                var error = Record.Exception(() => SignedAttestation.ParseAndVerify(tampered, alice.PublicKey));

                Assert.True(
                    error is MalformedAttestationException or SignatureVerificationException,
                    $"byte {position} ^ 0x{mask:x2}: {error?.GetType().Name ?? "accepted"}");
            }
        }
    }

    [Fact]
    public void Parse_OfEveryTruncationOrAnExtraByte_IsRefused()
    {
        using var alice = Alice();
        var serialized = SignedAttestation.Sign(KnownAnswerAttestation(), alice).ToBytes();

        for (var length = 0; length < serialized.Length; length++)
        {
            var error = Record.Exception(() => SignedAttestation.Parse(serialized.AsSpan(0, length)));
            Assert.True(error is MalformedAttestationException, $"length {length}: {error?.GetType().Name ?? "accepted"}");
        }

        Assert.Throws<MalformedAttestationException>(() => SignedAttestation.Parse([.. serialized, 0x00]));
    }

    [Fact]
    public void Verify_OfASignatureByAnotherIdentity_Fails()
    {
        using var alice = Alice();
        using var bob = Bob();
        var signedByBob = SignedAttestation.Sign(KnownAnswerAttestation(), bob);

        Assert.Throws<SignatureVerificationException>(() => signedByBob.Verify(alice.PublicKey));
        Assert.Throws<SignatureVerificationException>(() => signedByBob.Verify(alice.PublicKey.SigningKey));
        Assert.Throws<SignatureVerificationException>(() => SignedAttestation.ParseAndVerify(signedByBob.ToBytes(), alice.PublicKey));
    }

    [Fact]
    public void Verify_WhenTheSignerFieldIsSwappedForTheExpectedIdentity_Fails()
    {
        using var alice = Alice();
        using var bob = Bob();
        var serialized = SignedAttestation.Sign(KnownAnswerAttestation(), bob).ToBytes();
        alice.PublicKey.ToBytes().CopyTo(serialized, 1);

        var error = Assert.Throws<SignatureVerificationException>(() => SignedAttestation.ParseAndVerify(serialized, alice.PublicKey));

        Assert.Contains("signature is invalid", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_WithAKeyOfTheWrongLength_Fails()
    {
        using var alice = Alice();
        var signed = SignedAttestation.Sign(KnownAnswerAttestation(), alice);

        Assert.Throws<SignatureVerificationException>(() => signed.Verify(alice.PublicKey.SigningKey[..31]));
        Assert.Throws<SignatureVerificationException>(() => signed.Verify(ReadOnlySpan<byte>.Empty));
    }

    [Fact]
    public void Verify_OfASignatureForTypeAPresentedAsTypeB_Fails()
    {
        using var alice = Alice();
        var fields = KnownAnswerFields();
        var typeA = Attestation.Create("attendance-notice", fields);
        var typeB = Attestation.Create("absence-notice", fields);
        var signedA = SignedAttestation.Sign(typeA, alice);
        var signedB = SignedAttestation.Sign(typeB, alice).ToBytes();
        signedA.Signature.CopyTo(signedB.AsSpan(1 + 129));

        Assert.Throws<SignatureVerificationException>(() => SignedAttestation.ParseAndVerify(signedB, alice.PublicKey));
        // The label alone separates the types: A's signature over A's own bytes fails under B's label.
        Assert.False(DomainSignature.Verify(alice.PublicKey.SigningKey, SignedAttestation.SignatureLabel("absence-notice"), typeA.Encode(), signedA.Signature));
        Assert.True(DomainSignature.Verify(alice.PublicKey.SigningKey, SignedAttestation.SignatureLabel("attendance-notice"), typeA.Encode(), signedA.Signature));
    }

    [Fact]
    public void Verify_OfAnotherProtocolSignatureOverTheSameBytes_Fails()
    {
        using var alice = Alice();
        var attestation = KnownAnswerAttestation();
        var challengeSignature = alice.SignChallenge(attestation.Encode());
        var serialized = SignedAttestation.Sign(attestation, alice).ToBytes();
        challengeSignature.CopyTo(serialized, 1 + 129);

        Assert.Throws<SignatureVerificationException>(() => SignedAttestation.ParseAndVerify(serialized, alice.PublicKey));
    }

    [Fact]
    public void Parse_WithUnknownVersion_IsRefused()
    {
        using var alice = Alice();
        var serialized = SignedAttestation.Sign(KnownAnswerAttestation(), alice).ToBytes();
        serialized[0] = 0x02;

        Assert.Throws<MalformedAttestationException>(() => SignedAttestation.Parse(serialized));
    }

    [Fact]
    public void Sign_WithADisposedIdentity_Throws()
    {
        var alice = Alice();
        alice.Dispose();

        Assert.Throws<ObjectDisposedException>(() => SignedAttestation.Sign(KnownAnswerAttestation(), alice));
    }
}
