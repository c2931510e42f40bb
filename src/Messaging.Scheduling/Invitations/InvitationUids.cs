using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Messaging.Scheduling.Invitations;

/// <summary>What a UID read from a reply looks like, before any key is involved.</summary>
public enum InvitationUidShape
{
    /// <summary>Not a UID of ours (or the person's copy, which names no interview).</summary>
    Foreign,

    /// <summary><c>{interview id:N}@interviews.messaging</c>: the single UID every copy carried before replies were
    /// authenticated. It proves nothing, since the person's own copy gave it away.</summary>
    Legacy,

    /// <summary><c>{interview id:N}.{token}@interviews.messaging</c>: one attendee's copy.</summary>
    Attendee,
}

/// <summary>A UID as read from a reply: its shape and, unless foreign, the interview it names.</summary>
public readonly record struct InvitationUid(InvitationUidShape Shape, Guid InterviewId);

/// <summary>
/// The iCalendar UIDs of interview invitations, keyed by a server secret so that an iMIP reply proves which copy it
/// answers (the review of 2026-11-29, finding 1: a reply naming any invitee used to be taken from anyone).
/// <list type="bullet">
/// <item>Each emailed attendee's copy (the REQUEST, its updates and its CANCEL; the organiser's own copy alike) carries
/// <c>{interview id:N}.{token}@interviews.messaging</c>. The token is HMAC-SHA256 under the key over a domain label, the
/// interview id and the attendee's normalised work address, truncated to 160 bits, in lower-case hex. It is stable for
/// the interview's life, so a calendar client updates or cancels the same event; two attendees' copies never share it.</item>
/// <item>The person's PUBLISH copy carries <c>{token}@interviews.messaging</c>: the HMAC under another label over the
/// interview id alone. It names no interview, and nothing in it helps to compute an attendee's UID.</item>
/// </list>
/// Without the key nobody computes a token, so a reply is taken only when its UID carries the token of the attendee its
/// body names (<see cref="Authenticates"/>): that attendee's own copy, answered by them or by whoever they forwarded it
/// to (a secretariat). The key is a secret of the server: it never leaves the type, and the type never prints it.
/// </summary>
public sealed partial class InvitationUids
{
    /// <summary>The length of a key, in bytes (256 bits).</summary>
    public const int KeyLength = 32;

    private const string Suffix = "@interviews.messaging";
    private const int TokenBytes = 20;
    private const string AttendeeLabel = "messaging.interview-uid.attendee.v1";
    private const string PersonLabel = "messaging.interview-uid.person.v1";

    private readonly byte[] _key;

    /// <summary>UIDs under <paramref name="key"/> (copied).</summary>
    /// <exception cref="ArgumentException">The key is not <see cref="KeyLength"/> bytes long.</exception>
    public InvitationUids(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeyLength)
        {
            throw new ArgumentException($"A UID key is {KeyLength} bytes long.", nameof(key));
        }

        _key = key.ToArray();
    }

    /// <summary>A fresh random key.</summary>
    public static byte[] NewKey() => RandomNumberGenerator.GetBytes(KeyLength);

    /// <summary>The UID of <paramref name="workAddress"/>'s copy of the interview <paramref name="interviewId"/>.</summary>
    /// <exception cref="ArgumentException">The id is empty or the address blank.</exception>
    public string ForAttendee(Guid interviewId, string workAddress)
        => $"{interviewId:N}.{Convert.ToHexStringLower(AttendeeToken(interviewId, workAddress))}{Suffix}";

    /// <summary>The UID of the person's copy of the interview <paramref name="interviewId"/>.</summary>
    /// <exception cref="ArgumentException">The id is empty.</exception>
    public string ForPerson(Guid interviewId)
    {
        RequireId(interviewId);
        return Convert.ToHexStringLower(Token(PersonLabel, $"{interviewId:N}")) + Suffix;
    }

    /// <summary>The shape of <paramref name="uid"/> and the interview it names; no key is involved.</summary>
    public static InvitationUid Read(string? uid)
    {
        var match = uid is null ? null : UidPattern().Match(uid);
        if (match is not { Success: true })
        {
            return new InvitationUid(InvitationUidShape.Foreign, Guid.Empty);
        }

        var id = Guid.ParseExact(match.Groups["id"].Value, "N");
        return new InvitationUid(match.Groups["token"].Success ? InvitationUidShape.Attendee : InvitationUidShape.Legacy, id);
    }

    /// <summary>Whether <paramref name="uid"/> is the UID of <paramref name="workAddress"/>'s copy of the interview
    /// <paramref name="interviewId"/> (the tokens are compared in constant time).</summary>
    public bool Authenticates(string? uid, Guid interviewId, string workAddress)
    {
        var match = uid is null ? null : UidPattern().Match(uid);
        if (match is not { Success: true } || !match.Groups["token"].Success
            || Guid.ParseExact(match.Groups["id"].Value, "N") != interviewId || interviewId == Guid.Empty)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(Convert.FromHexString(match.Groups["token"].Value), AttendeeToken(interviewId, workAddress));
    }

    /// <summary>Never the key.</summary>
    public override string ToString() => "InvitationUids [key redacted]";

    private byte[] AttendeeToken(Guid interviewId, string workAddress)
    {
        RequireId(interviewId);
        ArgumentException.ThrowIfNullOrWhiteSpace(workAddress);
        return Token(AttendeeLabel, $"{interviewId:N}\n{workAddress.Trim().ToLowerInvariant()}");
    }

    /// <summary>HMAC-SHA256 over "label \n input" (the label keeps the person's and the attendees' tokens apart, and
    /// both apart from any other use a key might be put to), truncated.</summary>
    private byte[] Token(string label, string input)
        => HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(label + "\n" + input))[..TokenBytes];

    private static void RequireId(Guid interviewId)
    {
        if (interviewId == Guid.Empty)
        {
            throw new ArgumentException("An interview needs an id.", nameof(interviewId));
        }
    }

    [GeneratedRegex("^(?<id>[0-9a-f]{32})(?:\\.(?<token>[0-9a-f]{40}))?@interviews\\.messaging\\z", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UidPattern();
}
