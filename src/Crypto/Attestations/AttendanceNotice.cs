using System.Globalization;
using Messaging.Crypto.Keys;

namespace Messaging.Crypto.Attestations;

/// <summary>What an attendance notice reports (protocol 7.C): these and nothing else. The numeric values are not part
/// of the encoding; the kebab-case codes of <see cref="AttendanceNotice.KindCode"/> are.</summary>
public enum AttendanceNoticeKind
{
    /// <summary>The person attended the interview.</summary>
    Present = 1,

    /// <summary>The person was absent with a justification from the closed list <see cref="AbsenceJustification"/>.</summary>
    JustifiedAbsence = 2,

    /// <summary>The interview took place in vain: the person did not come and gave no justification.</summary>
    NoShow = 3,

    /// <summary>The person ended the follow-up unilaterally.</summary>
    UnilateralEnd = 4,

    /// <summary>A situation with a risk for the person: the assistant calls the service; the content stays out of the system.</summary>
    RiskToPerson = 5,

    /// <summary>A situation with a risk for third parties: the assistant calls the service; the content stays out of the system.</summary>
    RiskToThirdParties = 6,
}

/// <summary>The closed list of justifications of an absence; never free text.</summary>
public enum AbsenceJustification
{
    /// <summary>Illness.</summary>
    Illness = 1,

    /// <summary>Work.</summary>
    Work = 2,

    /// <summary>A family emergency.</summary>
    FamilyEmergency = 3,

    /// <summary>Transport.</summary>
    Transport = 4,

    /// <summary>Another justified reason, discussed outside the system.</summary>
    OtherJustified = 5,
}

/// <summary>A signed notice's audience is not the member verifying it: it was issued for another justice assistant (a
/// replay or a misdelivery). Do not show or forward it.</summary>
/// <param name="message">What went wrong.</param>
public sealed class NoticeAudienceMismatchException(string message) : CryptoException(message);

/// <summary>
/// An attendance notice (protocol 7.C) as a typed record over the <see cref="Attestation"/> format, type
/// <see cref="TypeName"/>. Every field is closed: ids, codes from fixed lists, a date and an instant — there is no
/// field that could carry free text, and <see cref="FromAttestation"/> refuses any field, code or shape that
/// <see cref="ToAttestation"/> would not produce. The <c>audience</c> field (the justice assistant's member id) and
/// <c>issued-at</c> bind the notice to one reader, so a notice shown to another assistant is detected.
/// </summary>
/// <remarks>
/// Fields (all strings unless said): <c>audience</c>, <c>case-ref</c> (26 characters of RFC 4648 base32),
/// <c>interview-date</c> (<c>yyyy-MM-dd</c>) or <c>interview-id</c> (exactly one of the two), <c>issued-at</c>
/// (timestamp), <c>issuer-device</c>, <c>issuer-member</c>, <c>issuer-organisation</c>, <c>justification</c> (only for
/// a justified absence), <c>kind</c>, <c>notice-id</c>. Ids are lower-case GUIDs in the <c>D</c> format.
/// </remarks>
public sealed record AttendanceNotice
{
    /// <summary>The attestation type name (and so the signature label's suffix).</summary>
    public const string TypeName = "attendance-notice.v1";

    private const string CaseReferenceAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    private const int CaseReferenceLength = 26;

    private static readonly string[] KindCodes = ["present", "justified-absence", "no-show", "unilateral-end", "risk-to-person", "risk-to-third-parties"];
    private static readonly string[] JustificationCodes = ["illness", "work", "family-emergency", "transport", "other-justified"];

    private AttendanceNotice(Guid noticeId, AttendanceNoticeKind kind, AbsenceJustification? justification, Guid? interviewId,
        DateOnly? interviewDate, string caseReference, Guid issuerOrganisationId, Guid issuerMemberId, Guid issuerDeviceId,
        DateTimeOffset issuedAt, Guid audienceMemberId)
    {
        NoticeId = noticeId;
        Kind = kind;
        Justification = justification;
        InterviewId = interviewId;
        InterviewDate = interviewDate;
        CaseReference = caseReference;
        IssuerOrganisationId = issuerOrganisationId;
        IssuerMemberId = issuerMemberId;
        IssuerDeviceId = issuerDeviceId;
        IssuedAt = issuedAt;
        AudienceMemberId = audienceMemberId;
    }

    /// <summary>The notice's unique id (the idempotency key everywhere it travels).</summary>
    public Guid NoticeId { get; }

    /// <summary>What the notice reports.</summary>
    public AttendanceNoticeKind Kind { get; }

    /// <summary>The justification category, present exactly for <see cref="AttendanceNoticeKind.JustifiedAbsence"/>.</summary>
    public AbsenceJustification? Justification { get; }

    /// <summary>The interview the notice is about, when it was scheduled through the system.</summary>
    public Guid? InterviewId { get; }

    /// <summary>The date the notice is about, when there is no interview id.</summary>
    public DateOnly? InterviewDate { get; }

    /// <summary>The pseudonymous case reference under mandate.</summary>
    public string CaseReference { get; }

    /// <summary>The issuing service (organisation id).</summary>
    public Guid IssuerOrganisationId { get; }

    /// <summary>The issuing worker (member id).</summary>
    public Guid IssuerMemberId { get; }

    /// <summary>The issuing device, whose identity key signs.</summary>
    public Guid IssuerDeviceId { get; }

    /// <summary>When it was issued (millisecond precision).</summary>
    public DateTimeOffset IssuedAt { get; }

    /// <summary>The justice assistant (member id) the notice is for.</summary>
    public Guid AudienceMemberId { get; }

    /// <summary>Creates a notice after checking every field.</summary>
    /// <param name="noticeId">A fresh, non-empty id.</param>
    /// <param name="kind">A defined kind.</param>
    /// <param name="justification">Required for a justified absence, null for every other kind.</param>
    /// <param name="interviewId">The interview, or null when <paramref name="interviewDate"/> is given.</param>
    /// <param name="interviewDate">The date, or null when <paramref name="interviewId"/> is given.</param>
    /// <param name="caseReference">26 characters of upper-case RFC 4648 base32.</param>
    /// <param name="issuerOrganisationId">The issuing service.</param>
    /// <param name="issuerMemberId">The issuing worker.</param>
    /// <param name="issuerDeviceId">The signing device.</param>
    /// <param name="issuedAt">When; truncated to milliseconds.</param>
    /// <param name="audienceMemberId">The justice assistant.</param>
    /// <returns>The notice.</returns>
    /// <exception cref="ArgumentException">A field is empty, out of its closed list or inconsistent with the kind.</exception>
    public static AttendanceNotice Create(Guid noticeId, AttendanceNoticeKind kind, AbsenceJustification? justification, Guid? interviewId,
        DateOnly? interviewDate, string caseReference, Guid issuerOrganisationId, Guid issuerMemberId, Guid issuerDeviceId,
        DateTimeOffset issuedAt, Guid audienceMemberId)
    {
        var problem = FindProblem(noticeId, kind, justification, interviewId, interviewDate, caseReference, issuerOrganisationId,
            issuerMemberId, issuerDeviceId, audienceMemberId);
        if (problem is not null)
        {
            throw new ArgumentException(problem);
        }

        return new AttendanceNotice(noticeId, kind, justification, interviewId, interviewDate, caseReference, issuerOrganisationId,
            issuerMemberId, issuerDeviceId, DateTimeOffset.FromUnixTimeMilliseconds(issuedAt.ToUnixTimeMilliseconds()), audienceMemberId);
    }

    /// <summary>The wire code of a kind, for example <c>no-show</c>.</summary>
    /// <param name="kind">A defined kind.</param>
    /// <returns>The code.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The kind is not defined.</exception>
    public static string KindCode(AttendanceNoticeKind kind)
        => Enum.IsDefined(kind) ? KindCodes[(int)kind - 1] : throw new ArgumentOutOfRangeException(nameof(kind));

    /// <summary>The wire code of a justification, for example <c>family-emergency</c>.</summary>
    /// <param name="justification">A defined justification.</param>
    /// <returns>The code.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The justification is not defined.</exception>
    public static string JustificationCode(AbsenceJustification justification)
        => Enum.IsDefined(justification) ? JustificationCodes[(int)justification - 1] : throw new ArgumentOutOfRangeException(nameof(justification));

    /// <summary>Parses a kind code; false for anything outside the closed list (exact, case-sensitive).</summary>
    /// <param name="code">The code.</param>
    /// <param name="kind">The kind when found.</param>
    /// <returns>Whether the code is known.</returns>
    public static bool TryParseKind(string? code, out AttendanceNoticeKind kind)
    {
        var index = Array.IndexOf(KindCodes, code);
        kind = (AttendanceNoticeKind)(index + 1);
        return index >= 0;
    }

    /// <summary>Parses a justification code; false for anything outside the closed list (exact, case-sensitive).</summary>
    /// <param name="code">The code.</param>
    /// <param name="justification">The justification when found.</param>
    /// <returns>Whether the code is known.</returns>
    public static bool TryParseJustification(string? code, out AbsenceJustification justification)
    {
        var index = Array.IndexOf(JustificationCodes, code);
        justification = (AbsenceJustification)(index + 1);
        return index >= 0;
    }

    /// <summary>The notice as an attestation record.</summary>
    /// <returns>The attestation (type <see cref="TypeName"/>).</returns>
    public Attestation ToAttestation()
    {
        var fields = new List<KeyValuePair<string, AttestationValue>>
        {
            new("audience", Id(AudienceMemberId)),
            new("case-ref", AttestationValue.FromString(CaseReference)),
            new("issued-at", AttestationValue.FromTimestamp(IssuedAt)),
            new("issuer-device", Id(IssuerDeviceId)),
            new("issuer-member", Id(IssuerMemberId)),
            new("issuer-organisation", Id(IssuerOrganisationId)),
            new("kind", AttestationValue.FromString(KindCode(Kind))),
            new("notice-id", Id(NoticeId)),
        };
        if (Justification is { } justification)
        {
            fields.Add(new("justification", AttestationValue.FromString(JustificationCode(justification))));
        }

        fields.Add(InterviewId is { } interview
            ? new("interview-id", Id(interview))
            : new("interview-date", AttestationValue.FromString(InterviewDate!.Value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))));
        return Attestation.Create(TypeName, fields);
    }

    /// <summary>Reads a notice from an attestation, refusing anything outside the schema.</summary>
    /// <param name="attestation">The attestation.</param>
    /// <returns>The notice.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="attestation"/> is null.</exception>
    /// <exception cref="MalformedAttestationException">Another type, a missing, unknown or mistyped field, a code outside
    /// its closed list, or fields inconsistent with the kind.</exception>
    public static AttendanceNotice FromAttestation(Attestation attestation)
    {
        ArgumentNullException.ThrowIfNull(attestation);
        if (!string.Equals(attestation.TypeName, TypeName, StringComparison.Ordinal))
        {
            throw new MalformedAttestationException("The attestation is not an attendance notice.");
        }

        string[] allowed = ["audience", "case-ref", "interview-date", "interview-id", "issued-at", "issuer-device", "issuer-member",
            "issuer-organisation", "justification", "kind", "notice-id"];
        if (attestation.Fields.Any(f => Array.IndexOf(allowed, f.Key) < 0))
        {
            throw new MalformedAttestationException("An attendance notice has no such field: its fields are a closed list.");
        }

        if (!TryParseKind(ReadString(attestation, "kind"), out var kind))
        {
            throw new MalformedAttestationException("The notice kind is not one of the closed list.");
        }

        AbsenceJustification? justification = null;
        if (attestation.TryGetValue("justification", out _))
        {
            justification = TryParseJustification(ReadString(attestation, "justification"), out var j)
                ? j
                : throw new MalformedAttestationException("The justification is not one of the closed list.");
        }

        var interviewId = attestation.TryGetValue("interview-id", out _) ? ReadId(attestation, "interview-id") : (Guid?)null;
        DateOnly? interviewDate = null;
        if (attestation.TryGetValue("interview-date", out _))
        {
            var text = ReadString(attestation, "interview-date");
            interviewDate = DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
                ? date
                : throw new MalformedAttestationException("The interview date is not a yyyy-MM-dd date.");
        }

        if (!attestation["issued-at"].Kind.Equals(AttestationValueKind.Timestamp))
        {
            throw new MalformedAttestationException("The field 'issued-at' is not a timestamp.");
        }

        var noticeId = ReadId(attestation, "notice-id");
        var caseReference = ReadString(attestation, "case-ref");
        var issuerOrganisation = ReadId(attestation, "issuer-organisation");
        var issuerMember = ReadId(attestation, "issuer-member");
        var issuerDevice = ReadId(attestation, "issuer-device");
        var audience = ReadId(attestation, "audience");
        var problem = FindProblem(noticeId, kind, justification, interviewId, interviewDate, caseReference, issuerOrganisation, issuerMember,
            issuerDevice, audience);
        return problem is null
            ? new AttendanceNotice(noticeId, kind, justification, interviewId, interviewDate, caseReference, issuerOrganisation, issuerMember,
                issuerDevice, attestation["issued-at"].AsTimestamp(), audience)
            : throw new MalformedAttestationException(problem);
    }

    /// <summary>Signs the notice with the issuing device's identity.</summary>
    /// <param name="signer">The identity of the device named in <see cref="IssuerDeviceId"/>.</param>
    /// <returns>The signed attestation.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="signer"/> is null.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="signer"/> was disposed.</exception>
    public SignedAttestation Sign(IdentityKeyPair signer) => SignedAttestation.Sign(ToAttestation(), signer);

    /// <summary>
    /// Verifies a serialized signed notice: the structure, the schema, the signature by <paramref name="expectedSigner"/>
    /// (the issuing device's key as the reader's own trusted records give it), and that the notice is for
    /// <paramref name="audienceMemberId"/>.
    /// </summary>
    /// <param name="serialized">The <see cref="SignedAttestation.ToBytes"/> bytes.</param>
    /// <param name="expectedSigner">The issuing device's identity.</param>
    /// <param name="audienceMemberId">The member reading the notice.</param>
    /// <returns>The verified notice.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="expectedSigner"/> is null.</exception>
    /// <exception cref="MalformedAttestationException">Not a canonical signed attendance notice.</exception>
    /// <exception cref="SignatureVerificationException">Another identity signed, or the signature is invalid.</exception>
    /// <exception cref="NoticeAudienceMismatchException">The notice is for another member.</exception>
    public static AttendanceNotice Verify(ReadOnlySpan<byte> serialized, IdentityPublicKey expectedSigner, Guid audienceMemberId)
    {
        var notice = FromAttestation(SignedAttestation.ParseAndVerify(serialized, expectedSigner));
        return notice.AudienceMemberId == audienceMemberId
            ? notice
            : throw new NoticeAudienceMismatchException("The notice was issued for another justice assistant.");
    }

    /// <summary>The kind and ids only.</summary>
    /// <returns>A description safe to log.</returns>
    public override string ToString() => $"attendance-notice {NoticeId:D} ({KindCode(Kind)})";

    private static AttestationValue Id(Guid id) => AttestationValue.FromString(id.ToString("D"));

    private static string ReadString(Attestation attestation, string name)
    {
        if (!attestation.TryGetValue(name, out var value))
        {
            throw new MalformedAttestationException($"The attendance notice lacks the field '{name}'.");
        }

        return value.Kind == AttestationValueKind.String
            ? value.AsString()
            : throw new MalformedAttestationException($"The field '{name}' is not a string.");
    }

    private static Guid ReadId(Attestation attestation, string name)
    {
        var text = ReadString(attestation, name);
        return Guid.TryParseExact(text, "D", out var id) && string.Equals(id.ToString("D"), text, StringComparison.Ordinal)
            ? id
            : throw new MalformedAttestationException($"The field '{name}' is not a lower-case id.");
    }

    private static string? FindProblem(Guid noticeId, AttendanceNoticeKind kind, AbsenceJustification? justification, Guid? interviewId,
        DateOnly? interviewDate, string? caseReference, Guid issuerOrganisationId, Guid issuerMemberId, Guid issuerDeviceId, Guid audienceMemberId)
    {
        if (noticeId == Guid.Empty || issuerOrganisationId == Guid.Empty || issuerMemberId == Guid.Empty || issuerDeviceId == Guid.Empty
            || audienceMemberId == Guid.Empty || interviewId == Guid.Empty)
        {
            return "Notice, issuer, audience and interview ids are non-empty.";
        }

        if (!Enum.IsDefined(kind))
        {
            return "The notice kind is not one of the closed list.";
        }

        if ((kind == AttendanceNoticeKind.JustifiedAbsence) != justification.HasValue)
        {
            return "A justified absence carries a justification category; no other kind carries one.";
        }

        if (justification is { } j && !Enum.IsDefined(j))
        {
            return "The justification is not one of the closed list.";
        }

        if (interviewId.HasValue == interviewDate.HasValue)
        {
            return "A notice names either an interview or a date, exactly one of the two.";
        }

        return caseReference is { Length: CaseReferenceLength } && caseReference.All(c => CaseReferenceAlphabet.Contains(c, StringComparison.Ordinal))
            ? null
            : "A case reference is 26 characters of upper-case base32.";
    }
}
