using Messaging.Crypto.CrossSigning;
using Messaging.Crypto.Keys;
using Messaging.Crypto.SafetyNumbers;

namespace Messaging.Crypto.Tests.CrossSigning;

/// <summary>Member signing keys, device certificates, sealed grants, approval codes and member safety numbers
/// (docs/crypto.md section 11; the vectors are recomputed independently by Vectors/recompute_cross_signing_vectors.py).</summary>
public sealed class CrossSigningTests
{
    private static readonly Guid Member = Guid.Parse("11111111-2222-4333-8444-555555555555");
    private static readonly Guid Device = Guid.Parse("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
    private static readonly Guid Remote = Guid.Parse("99999999-8888-4777-8666-555555555555");
    private static readonly DateTimeOffset IssuedAt = DateTimeOffset.FromUnixTimeMilliseconds(1767225600000);

    private static byte[] Range(int from, int count) => [.. Enumerable.Range(from, count).Select(i => (byte)i)];

    private static IdentityKeyPair AliceIdentity() => IdentityKeyPair.FromSecrets(Range(0x00, 32), Range(0x20, 32));

    [Fact]
    public void TheKnownAnswerVectors_MatchTheDocument()
    {
        using var memberKey = MemberSigningKey.FromSeed(Member, Range(0xe0, 32));
        using var identity = AliceIdentity();

        Assert.Equal("13d9908a70925992ed546007d27f50da68ba7217ef62ac3cca784529ff10471c", Convert.ToHexStringLower(memberKey.PublicKey));
        Assert.Equal("011111111122224333844455555555555513d9908a70925992ed546007d27f50da68ba7217ef62ac3cca784529ff10471c0000019b76daa800be952b20f05b7f6f531f982797066ddd847c31edd68d093e046f6ffae73275224e6edc1c8b4291c0f654f6fbed7f935d06e94ff8b9ed8fe516ad8f16053dd309",
            Convert.ToHexStringLower(memberKey.Announce(IssuedAt).ToBytes()));
        Assert.Equal("0111111111222243338444555555555555aaaaaaaabbbb4ccc8dddeeeeeeeeeeee0103a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254beb03cc1d2bb15c9cd6120d7807a9ad258f97c50c7981ceefdfcdc067ff91388552a406f17e1569de579a20dac754895ee9cace9e11c885be1d150aabb07f80c0000019b76daa80044fc0aae5fd6b50fa2c2d55413bd80834c833bcd90b43a706a4a520d456281e8f4e06bc08e5c96a5260762e346865bcaaca427c573b4160d5d580da972505902",
            Convert.ToHexStringLower(memberKey.Certify(Device, identity.PublicKey, IssuedAt).ToBytes()));
        var code = ApprovalCode.Compute(Member, identity.PublicKey);
        Assert.Equal(("14476 28573 91067 53657", "1ca785498c2fdb31ac3da4e4bf7c9b135def787954920802b57742c16fbca20392047f6cbe2fc4ed15013f17bf27089fe0fa6f87ffea04d85f2ffba67332e67e"),
            (code.Digits, code.Hex));
        Assert.True(code.Matches("14476285739106753657"));
        using var remoteKey = MemberSigningKey.FromSeed(Remote, Range(0x40, 32));
        Assert.Equal("20098 67035 44658 96509 22665 37210 94710 98614 27901 54844 42624 71387",
            SafetyNumber.ComputeForMembers(Member.ToString("D"), memberKey.PublicKey, Remote.ToString("D"), remoteKey.PublicKey).Displayable);
        Assert.Equal(SafetyNumber.ComputeForMembers(Remote.ToString("D"), remoteKey.PublicKey, Member.ToString("D"), memberKey.PublicKey),
            SafetyNumber.ComputeForMembers(Member.ToString("D"), memberKey.PublicKey, Remote.ToString("D"), remoteKey.PublicKey));
    }

    [Fact]
    public void AnApprovalCode_IsTwentyDigitsInFourGroups_AndMatchesOnlyAllOfThem()
    {
        using var identity = IdentityKeyPair.Generate();
        var code = ApprovalCode.Compute(Member, identity.PublicKey);
        Assert.Matches(@"^\d{5} \d{5} \d{5} \d{5}$", code.Digits);
        Assert.Equal(128, code.Hex.Length);
        var digits = code.Digits.Replace(" ", string.Empty, StringComparison.Ordinal);
        Assert.Equal(ApprovalCode.DigitCount, digits.Length);
        Assert.True(code.Matches(digits));
        Assert.True(code.Matches(code.Digits));
        Assert.True(code.Matches($" {digits[..7]} {digits[7..]} "));

        // Any one digit changed, anywhere, is another code.
        for (var i = 0; i < digits.Length; i++)
        {
            var changed = string.Concat(digits.AsSpan(0, i), ((char)('0' + ((digits[i] - '0' + 1) % 10))).ToString(), digits.AsSpan(i + 1));
            Assert.True(ApprovalCode.IsWellFormed(changed));
            Assert.False(code.Matches(changed), $"digit {i} changed still matches");
        }

        // Only the whole code, spaces aside: a prefix (as long as version 1's 8 digits), a digit short or extra, a letter,
        // a non-ASCII digit or another separator never match.
        string[] wrongs = [digits[..8], digits[..19], digits + "0", digits[..19] + "x", digits[..19] + "\u0663", $"{digits[..10]}-{digits[10..]}", ""];
        foreach (var wrong in wrongs)
        {
            Assert.False(ApprovalCode.IsWellFormed(wrong), wrong);
            Assert.False(code.Matches(wrong), wrong);
        }
    }

    [Fact]
    public void TheApprovalCode_DependsOnTheMemberAndEveryByteOfTheIdentityKey()
    {
        using var identity = AliceIdentity();
        var code = ApprovalCode.Compute(Member, identity.PublicKey);
        Assert.NotEqual(code.Digits, ApprovalCode.Compute(Remote, identity.PublicKey).Digits);
        using var other = IdentityKeyPair.FromSecrets(Range(0x00, 32), Range(0x21, 32)); // another X25519 key, same Ed25519 key
        Assert.NotEqual(code.Digits, ApprovalCode.Compute(Member, other.PublicKey).Digits);
    }

    [Fact]
    public void ACertificate_VouchesOnlyForItsMemberDeviceAndKey_UnderTheKeyThatSignedIt()
    {
        using var memberKey = MemberSigningKey.Generate(Member);
        using var other = MemberSigningKey.Generate(Member);
        using var identity = IdentityKeyPair.Generate();
        using var otherIdentity = IdentityKeyPair.Generate();
        var certificate = DeviceCertificate.Parse(memberKey.Certify(Device, identity.PublicKey, IssuedAt).ToBytes());

        Assert.True(certificate.Vouches(Member, Device, identity.PublicKey.ToBytes(), memberKey.PublicKey));
        Assert.False(certificate.Vouches(Member, Device, identity.PublicKey.ToBytes(), other.PublicKey));
        Assert.False(certificate.Vouches(Remote, Device, identity.PublicKey.ToBytes(), memberKey.PublicKey));
        Assert.False(certificate.Vouches(Member, Guid.NewGuid(), identity.PublicKey.ToBytes(), memberKey.PublicKey));
        Assert.False(certificate.Vouches(Member, Device, otherIdentity.PublicKey.ToBytes(), memberKey.PublicKey));

        // Any flipped bit of the signed bytes or the signature breaks it; a bad shape does not parse.
        var bytes = certificate.ToBytes();
        for (var i = 0; i < bytes.Length; i += 7)
        {
            var tampered = bytes.ToArray();
            tampered[i] ^= 0x01;
            Assert.False(DeviceCertificate.TryParse(tampered, out var parsed) && parsed!.Vouches(Member, Device, identity.PublicKey.ToBytes(), memberKey.PublicKey));
        }

        Assert.False(DeviceCertificate.TryParse(bytes.AsSpan(1), out _));
    }

    [Fact]
    public void AnAnnouncement_IsSelfSigned_AndATamperedOneIsRefused()
    {
        using var memberKey = MemberSigningKey.Generate(Member);
        var bytes = memberKey.Announce(IssuedAt).ToBytes();
        var parsed = MemberKeyAnnouncement.Parse(bytes);
        Assert.Equal((Member, IssuedAt), (parsed.MemberId, parsed.IssuedAt));
        Assert.Equal(memberKey.PublicKey, parsed.PublicKey.ToArray());

        bytes[5] ^= 0x01; // another member id
        Assert.Throws<SignatureVerificationException>(() => MemberKeyAnnouncement.Parse(bytes));
        Assert.False(MemberKeyAnnouncement.TryParse(bytes.AsSpan(0, 100), out _));
    }

    [Fact]
    public void AGrant_OpensOnlyOnTheDeviceItWasSealedTo_ForItsMember()
    {
        using var memberKey = MemberSigningKey.Generate(Member);
        using var device = IdentityKeyPair.Generate();
        using var stranger = IdentityKeyPair.Generate();
        var grant = memberKey.SealTo(device.PublicKey);

        using var opened = MemberSigningKey.OpenGrant(device, Member, grant);
        Assert.Equal(memberKey.PublicKey, opened.PublicKey);
        Assert.Throws<MessageAuthenticationException>(() => MemberSigningKey.OpenGrant(stranger, Member, grant));
        Assert.Throws<MalformedMessageException>(() => MemberSigningKey.OpenGrant(device, Remote, grant));
        grant[^1] ^= 0x01;
        Assert.Throws<MessageAuthenticationException>(() => MemberSigningKey.OpenGrant(device, Member, grant));
    }

    [Fact]
    public void TheMemberSafetyNumber_ChangesWithTheMemberKey_NotWithTheirDevices()
    {
        using var local = MemberSigningKey.Generate(Member);
        using var remote = MemberSigningKey.Generate(Remote);
        using var reset = MemberSigningKey.Generate(Remote);
        var before = SafetyNumber.ComputeForMembers(Member.ToString("D"), local.PublicKey, Remote.ToString("D"), remote.PublicKey);
        Assert.NotEqual(before, SafetyNumber.ComputeForMembers(Member.ToString("D"), local.PublicKey, Remote.ToString("D"), reset.PublicKey));
        Assert.Throws<ArgumentException>(() => SafetyNumber.ComputeForMembers(Member.ToString("D"), local.PublicKey.AsSpan(1), Remote.ToString("D"), remote.PublicKey));
    }
}
