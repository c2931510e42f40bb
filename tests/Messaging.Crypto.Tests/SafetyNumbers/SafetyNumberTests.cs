using Messaging.Crypto.Keys;
using Messaging.Crypto.SafetyNumbers;

namespace Messaging.Crypto.Tests.SafetyNumbers;

public sealed class SafetyNumberTests
{
    // Known-answer vector, computed independently (Python hashlib + pyca/cryptography) from the spec in
    // docs/crypto-keystore-attestations-safety.md.
    private const string AliceSigningKeyHex = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
    private const string AliceAgreementKeyHex = "358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254";
    private const string BobSigningKeyHex = "2543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d";
    private const string BobAgreementKeyHex = "675dd574ed7789310b3d2e7681f3790b466c773b1521fecf36577958371ea52f";
    private const string AliceFingerprint = "852858089130371194157223405508";
    private const string BobFingerprint = "629681104849190753879930763406";
    private const string ExpectedDisplayable = "62968 11048 49190 75387 99307 63406 85285 80891 30371 19415 72234 05508";

    [Fact]
    public void Compute_FixedKeysAndIds_GivesTheKnownAnswer()
    {
        using var alice = Alice();
        using var bob = Bob();
        Assert.Equal(AliceSigningKeyHex, Convert.ToHexStringLower(alice.PublicKey.SigningKey));
        Assert.Equal(AliceAgreementKeyHex, Convert.ToHexStringLower(alice.PublicKey.AgreementKey));
        Assert.Equal(BobSigningKeyHex, Convert.ToHexStringLower(bob.PublicKey.SigningKey));
        Assert.Equal(BobAgreementKeyHex, Convert.ToHexStringLower(bob.PublicKey.AgreementKey));

        var number = SafetyNumber.Compute("alice", alice.PublicKey, "bob", bob.PublicKey);

        Assert.Equal(AliceFingerprint, SafetyNumber.Fingerprint("alice", alice.PublicKey, "id"));
        Assert.Equal(BobFingerprint, SafetyNumber.Fingerprint("bob", bob.PublicKey, "id"));
        Assert.Equal(ExpectedDisplayable, number.Displayable);
        Assert.Equal(ExpectedDisplayable.Replace(" ", string.Empty, StringComparison.Ordinal), number.Digits);
        Assert.Equal(ExpectedDisplayable, number.ToString());
    }

    [Fact]
    public void IdentityFingerprint_IsThatPartysHalfOfTheSafetyNumber_Grouped()
    {
        using var alice = Alice();
        using var bob = Bob();

        Assert.Equal("85285 80891 30371 19415 72234 05508", SafetyNumber.IdentityFingerprint("alice", alice.PublicKey));
        Assert.Equal("62968 11048 49190 75387 99307 63406", SafetyNumber.IdentityFingerprint("bob", bob.PublicKey));
        Assert.Contains(SafetyNumber.IdentityFingerprint("alice", alice.PublicKey), ExpectedDisplayable, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => SafetyNumber.IdentityFingerprint(string.Empty, alice.PublicKey));
    }

    [Fact]
    public void Compute_WithPartiesSwapped_GivesTheSameNumber()
    {
        using var alice = Alice();
        using var bob = Bob();

        var fromAlice = SafetyNumber.Compute("alice", alice.PublicKey, "bob", bob.PublicKey);
        var fromBob = SafetyNumber.Compute("bob", bob.PublicKey, "alice", alice.PublicKey);

        Assert.Equal(fromAlice, fromBob);
        Assert.Equal(fromAlice.Displayable, fromBob.Displayable);
        Assert.Equal(fromAlice.GetHashCode(), fromBob.GetHashCode());
    }

    [Fact]
    public void Compute_WithRandomIdentities_IsOrderIndependentAndWellFormed()
    {
        for (var i = 0; i < 5; i++)
        {
            using var a = IdentityKeyPair.Generate();
            using var b = IdentityKeyPair.Generate();

            var ab = SafetyNumber.Compute("a", a.PublicKey, "b", b.PublicKey);
            var ba = SafetyNumber.Compute("b", b.PublicKey, "a", a.PublicKey);

            Assert.Equal(ab, ba);
            Assert.Equal(SafetyNumber.DigitCount, ab.Digits.Length);
            Assert.All(ab.Digits, c => Assert.InRange(c, '0', '9'));
            Assert.Matches("^([0-9]{5} ){11}[0-9]{5}$", ab.Displayable);
        }
    }

    [Fact]
    public void Compute_WhenTheRemoteKeyChanges_GivesADifferentNumber()
    {
        using var alice = Alice();
        using var bob = Bob();
        using var mallory = IdentityKeyPair.Generate();

        var genuine = SafetyNumber.Compute("alice", alice.PublicKey, "bob", bob.PublicKey);
        var swapped = SafetyNumber.Compute("alice", alice.PublicKey, "bob", mallory.PublicKey);

        Assert.NotEqual(genuine, swapped);
        Assert.False(genuine.Matches(swapped.Displayable));
    }

    [Fact]
    public void Compute_WhenTheLocalKeyChanges_GivesADifferentNumber()
    {
        using var alice = Alice();
        using var bob = Bob();
        using var newAlice = IdentityKeyPair.Generate();

        var before = SafetyNumber.Compute("alice", alice.PublicKey, "bob", bob.PublicKey);
        var after = SafetyNumber.Compute("alice", newAlice.PublicKey, "bob", bob.PublicKey);

        Assert.NotEqual(before, after);
    }

    [Fact]
    public void Compute_WhenOnlyTheAgreementKeyChanges_GivesADifferentNumber()
    {
        using var bob = Bob();
        using var alice = Alice();
        using var aliceOtherAgreement = IdentityKeyPair.FromSecrets(Bytes(0, 32), Bytes(200, 32));
        Assert.Equal(alice.PublicKey.SigningKey.ToArray(), aliceOtherAgreement.PublicKey.SigningKey.ToArray());

        var before = SafetyNumber.Compute("alice", alice.PublicKey, "bob", bob.PublicKey);
        var after = SafetyNumber.Compute("alice", aliceOtherAgreement.PublicKey, "bob", bob.PublicKey);

        Assert.NotEqual(before, after);
    }

    [Fact]
    public void Compute_WhenAStableIdChanges_GivesADifferentNumber()
    {
        using var alice = Alice();
        using var bob = Bob();

        var before = SafetyNumber.Compute("alice", alice.PublicKey, "bob", bob.PublicKey);
        var after = SafetyNumber.Compute("alice", alice.PublicKey, "bob2", bob.PublicKey);

        Assert.NotEqual(before, after);
    }

    [Fact]
    public void Matches_IgnoresSpacesButNothingElse()
    {
        using var alice = Alice();
        using var bob = Bob();
        var number = SafetyNumber.Compute("alice", alice.PublicKey, "bob", bob.PublicKey);
        var lastDigitChanged = number.Digits[..^1] + (number.Digits[^1] == '0' ? '1' : '0');

        Assert.True(number.Matches(number.Displayable));
        Assert.True(number.Matches(number.Digits));
        Assert.False(number.Matches(lastDigitChanged));
        Assert.False(number.Matches(number.Digits[..^1]));
        Assert.False(number.Matches(number.Digits + "0"));
        Assert.False(number.Matches(number.Digits[..^1] + "\u0660"));
        Assert.False(number.Matches(string.Empty));
    }

    [Fact]
    public void Compute_WithAnEmptyStableIdOrALoneSurrogate_ThrowsArgumentException()
    {
        using var alice = Alice();
        using var bob = Bob();

        // Not theory data: xunit's serializer would replace the lone surrogate before the test saw it.
        foreach (var stableId in new[] { string.Empty, "bob\ud800" })
        {
            Assert.Throws<ArgumentException>(() => SafetyNumber.Compute(stableId, alice.PublicKey, "bob", bob.PublicKey));
            Assert.Throws<ArgumentException>(() => SafetyNumber.Compute("alice", alice.PublicKey, stableId, bob.PublicKey));
        }
    }

    private static IdentityKeyPair Alice() => IdentityKeyPair.FromSecrets(Bytes(0, 32), Bytes(32, 32));

    private static IdentityKeyPair Bob() => IdentityKeyPair.FromSecrets(Bytes(64, 32), Bytes(96, 32));

    private static byte[] Bytes(int first, int count) => Enumerable.Range(first, count).Select(i => (byte)i).ToArray();
}
