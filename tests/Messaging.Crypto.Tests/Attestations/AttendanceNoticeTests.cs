using Messaging.Crypto.Attestations;
using Messaging.Crypto.Keys;

namespace Messaging.Crypto.Tests.Attestations;

public sealed class AttendanceNoticeTests
{
    private const string CaseReference = "ABCDEFGHIJKLMNOPQRSTUVWXY2";
    private static readonly Guid Assistant = Guid.NewGuid();
    private static readonly DateTimeOffset IssuedAt = new(2031, 3, 4, 9, 15, 0, 123, TimeSpan.Zero);

    public static TheoryData<AttendanceNoticeKind> Kinds() => [.. Enum.GetValues<AttendanceNoticeKind>()];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EverySignedKind_RoundTripsThroughItsSerialization(AttendanceNoticeKind kind)
    {
        using var device = IdentityKeyPair.Generate();
        var notice = NoticeOf(kind, Guid.NewGuid());

        var verified = AttendanceNotice.Verify(notice.Sign(device).ToBytes(), device.PublicKey, Assistant);

        Assert.Equal(notice, verified);
        Assert.Equal(kind, verified.Kind);
        Assert.Equal(IssuedAt, verified.IssuedAt);
    }

    [Fact]
    public void ANoticeAboutADate_RoundTripsWithItsDate()
    {
        using var device = IdentityKeyPair.Generate();
        var notice = AttendanceNotice.Create(Guid.NewGuid(), AttendanceNoticeKind.Present, null, null, new DateOnly(2031, 3, 4), CaseReference,
            Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), IssuedAt, Assistant);

        var verified = AttendanceNotice.Verify(notice.Sign(device).ToBytes(), device.PublicKey, Assistant);

        Assert.Equal(new DateOnly(2031, 3, 4), verified.InterviewDate);
        Assert.Null(verified.InterviewId);
    }

    [Fact]
    public void ChangingAnyOneByteOfASignedNotice_FailsVerification()
    {
        using var device = IdentityKeyPair.Generate();
        var serialized = NoticeOf(AttendanceNoticeKind.NoShow, Guid.NewGuid()).Sign(device).ToBytes();

        for (var i = 0; i < serialized.Length; i++)
        {
            var altered = (byte[])serialized.Clone();
            altered[i] ^= 0x01;
            Assert.ThrowsAny<CryptoException>(() => AttendanceNotice.Verify(altered, device.PublicKey, Assistant));
        }
    }

    [Fact]
    public void ANoticeShownToAnotherAssistant_IsReportedAsForAnotherAudience()
    {
        using var device = IdentityKeyPair.Generate();
        var serialized = NoticeOf(AttendanceNoticeKind.Present, Guid.NewGuid()).Sign(device).ToBytes();

        Assert.Throws<NoticeAudienceMismatchException>(() => AttendanceNotice.Verify(serialized, device.PublicKey, Guid.NewGuid()));
    }

    [Fact]
    public void ANoticeSignedByAnotherDevice_FailsVerification()
    {
        using var device = IdentityKeyPair.Generate();
        using var other = IdentityKeyPair.Generate();
        var serialized = NoticeOf(AttendanceNoticeKind.Present, Guid.NewGuid()).Sign(other).ToBytes();

        Assert.Throws<SignatureVerificationException>(() => AttendanceNotice.Verify(serialized, device.PublicKey, Assistant));
    }

    [Fact]
    public void AJustifiedAbsence_NeedsACategory_AndNoOtherKindTakesOne()
    {
        Assert.Throws<ArgumentException>(() => Create(AttendanceNoticeKind.JustifiedAbsence, null));
        Assert.Throws<ArgumentException>(() => Create(AttendanceNoticeKind.NoShow, AbsenceJustification.Illness));
        Assert.Throws<ArgumentException>(() => Create((AttendanceNoticeKind)7, null));
        Assert.Throws<ArgumentException>(() => Create(AttendanceNoticeKind.JustifiedAbsence, (AbsenceJustification)6));
    }

    [Fact]
    public void ACaseReferenceOtherThanBase32_IsRefused()
    {
        Assert.Throws<ArgumentException>(() => AttendanceNotice.Create(Guid.NewGuid(), AttendanceNoticeKind.Present, null, Guid.NewGuid(), null,
            "Jean Dupont missed his appt", Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), IssuedAt, Assistant));
    }

    [Fact]
    public void AnAttestationWithAFreeTextField_IsNotANotice()
    {
        var fields = NoticeOf(AttendanceNoticeKind.Present, Guid.NewGuid()).ToAttestation().Fields
            .Append(new("notes", AttestationValue.FromString("The person said …")));

        Assert.Throws<MalformedAttestationException>(() => AttendanceNotice.FromAttestation(Attestation.Create(AttendanceNotice.TypeName, fields)));
    }

    [Theory]
    [InlineData("kind", "late")]
    [InlineData("kind", "Present")]
    [InlineData("justification", "car trouble, see notes")]
    [InlineData("case-ref", "Jean Dupont")]
    [InlineData("notice-id", "not-an-id")]
    [InlineData("interview-date", "4 March")]
    public void AFieldOutsideItsClosedList_IsNotANotice(string field, string value)
    {
        var notice = AttendanceNotice.Create(Guid.NewGuid(), AttendanceNoticeKind.JustifiedAbsence, AbsenceJustification.Transport, null,
            new DateOnly(2031, 3, 4), CaseReference, Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), IssuedAt, Assistant);
        var fields = notice.ToAttestation().Fields
            .Select(f => f.Key == field ? new KeyValuePair<string, AttestationValue>(f.Key, AttestationValue.FromString(value)) : f);

        Assert.Throws<MalformedAttestationException>(() => AttendanceNotice.FromAttestation(Attestation.Create(AttendanceNotice.TypeName, fields)));
    }

    [Fact]
    public void AnAttestationOfAnotherType_IsNotANotice()
    {
        var fields = NoticeOf(AttendanceNoticeKind.Present, Guid.NewGuid()).ToAttestation().Fields;

        Assert.Throws<MalformedAttestationException>(() => AttendanceNotice.FromAttestation(Attestation.Create("attendance-notice", fields)));
    }

    [Fact]
    public void ToString_ShowsNoCaseReference()
        => Assert.DoesNotContain(CaseReference, NoticeOf(AttendanceNoticeKind.Present, Guid.NewGuid()).ToString(), StringComparison.Ordinal);

    private static AttendanceNotice Create(AttendanceNoticeKind kind, AbsenceJustification? justification)
        => AttendanceNotice.Create(Guid.NewGuid(), kind, justification, Guid.NewGuid(), null, CaseReference, Guid.NewGuid(), Guid.NewGuid(),
            Guid.NewGuid(), IssuedAt, Assistant);

    private static AttendanceNotice NoticeOf(AttendanceNoticeKind kind, Guid interviewId)
        => AttendanceNotice.Create(Guid.NewGuid(), kind, kind == AttendanceNoticeKind.JustifiedAbsence ? AbsenceJustification.FamilyEmergency : null,
            interviewId, null, CaseReference, Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), IssuedAt, Assistant);
}
