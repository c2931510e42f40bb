using Messaging.Contracts.Referrals;

namespace Messaging.Client.Cases;

/// <summary>The checks the closed forms share.</summary>
internal static class CaseJson
{
    public static void RequireText(string? value, string field, int maxLength, bool required)
    {
        if (value is null)
        {
            if (required)
            {
                throw new CaseRecordException(field, $"'{field}' is required.");
            }

            return;
        }

        if (required && string.IsNullOrWhiteSpace(value))
        {
            throw new CaseRecordException(field, $"'{field}' is required.");
        }

        if (value.Length > maxLength)
        {
            throw new CaseRecordException(field, $"'{field}' is at most {maxLength} characters.");
        }

        if (value.Any(c => char.IsControl(c) && c is not ('\n' or '\r' or '\t')))
        {
            throw new CaseRecordException(field, $"'{field}' contains control characters.");
        }
    }

    /// <summary>The kebab-case name of a closed-list value.</summary>
    public static string NameOf<T>(IReadOnlyDictionary<string, T> choices, T value)
        where T : struct, Enum
        => choices.FirstOrDefault(c => EqualityComparer<T>.Default.Equals(c.Value, value)).Key ?? "unknown";

    /// <summary>Refuses a value outside its closed list, naming the list.</summary>
    public static void RequireChoice<T>(T value, IReadOnlyDictionary<string, T> choices, string field)
        where T : struct, Enum
    {
        if (!choices.Values.Contains(value))
        {
            throw new CaseRecordException(field, $"'{field}' must be one of: {string.Join(", ", choices.Keys)}.");
        }
    }

    public static void RequireCaseReference(string caseReference)
    {
        if (!CaseReference.IsWellFormed(caseReference))
        {
            throw new CaseRecordException("caseReference", "The case reference is not a generated pseudonymous reference.");
        }
    }
}

/// <summary>
/// The person's identity and contact details (protocol 7.A: only after the receiving service accepted). Travels as an
/// <see cref="Contracts.EnvelopeKind.IdentityShare"/> envelope to the accepting service only, end to end encrypted.
/// </summary>
/// <param name="CaseReference">The referral's case reference.</param>
/// <param name="FamilyName">Family name.</param>
/// <param name="GivenNames">Given names.</param>
/// <param name="BirthDate">Birth date, when the accepting service needs it.</param>
/// <param name="Phone">A telephone number.</param>
/// <param name="Email">An email address.</param>
/// <param name="PostalAddress">A postal address.</param>
public sealed record PersonIdentity(string CaseReference, string FamilyName, string GivenNames, DateOnly? BirthDate = null, string? Phone = null, string? Email = null, string? PostalAddress = null)
{
    /// <summary>The record's format version.</summary>
    public const int Version = 1;

    /// <summary>Checks every field.</summary>
    /// <exception cref="CaseRecordException">A field is missing, too long or malformed.</exception>
    public void Validate()
    {
        CaseJson.RequireCaseReference(CaseReference);
        CaseJson.RequireText(FamilyName, "familyName", 100, required: true);
        CaseJson.RequireText(GivenNames, "givenNames", 100, required: true);
        CaseJson.RequireText(Phone, "phone", 40, required: false);
        CaseJson.RequireText(Email, "email", 254, required: false);
        CaseJson.RequireText(PostalAddress, "postalAddress", 300, required: false);
        if (Phone is not null && !Phone.All(c => char.IsAsciiDigit(c) || c is '+' or ' ' or '.' or '/' or '-' or '(' or ')'))
        {
            throw new CaseRecordException("phone", "'phone' holds digits, spaces and + . / - ( ) only.");
        }

        if (Email is not null && (Email.Count(c => c == '@') != 1 || Email.StartsWith('@') || Email.EndsWith('@') || Email.Any(char.IsWhiteSpace)))
        {
            throw new CaseRecordException("email", "'email' is not an email address.");
        }
    }

    /// <summary>The closed JSON form (validated first).</summary>
    /// <exception cref="CaseRecordException">The record does not validate.</exception>
    public byte[] Encode()
    {
        Validate();
        return CaseWire.Write(
            new PersonIdentityJson
            {
                Version = Version, CaseReference = CaseReference, FamilyName = FamilyName, GivenNames = GivenNames, BirthDate = BirthDate,
                Phone = Phone, Email = Email, PostalAddress = PostalAddress,
            },
            CaseWire.Json.PersonIdentityJson);
    }

    /// <summary>Reads and validates a received identity share.</summary>
    /// <exception cref="CaseRecordException">Not a record of this schema.</exception>
    public static PersonIdentity Decode(ReadOnlySpan<byte> utf8)
    {
        var json = CaseWire.Read(utf8, CaseWire.Json.PersonIdentityJson, "identity share");
        CaseWire.RequireVersion(json.Version, Version, "identity share");
        var identity = new PersonIdentity(json.CaseReference, json.FamilyName, json.GivenNames, json.BirthDate, json.Phone, json.Email, json.PostalAddress);
        identity.Validate();
        return identity;
    }

    /// <summary>Never prints the identity.</summary>
    public override string ToString() => $"PersonIdentity {{ CaseReference = {CaseReference} }}";
}

/// <summary>The receiving service's answer, sent end to end to the referring service beside the status change the
/// server records (the server sees the status, this carries nothing more but lets the referrer's devices see it arrive).</summary>
/// <param name="CaseReference">The referral's case reference.</param>
/// <param name="Response">Accept, decline or propose a tripartite interview.</param>
/// <param name="DeclineReason">With a decline only.</param>
public sealed record ReferralAnswer(string CaseReference, ReferralResponse Response, ReferralDeclineReason? DeclineReason)
{
    /// <summary>The record's format version.</summary>
    public const int Version = 1;

    private static readonly IReadOnlyDictionary<string, ReferralResponse> Responses = new Dictionary<string, ReferralResponse>(StringComparer.Ordinal)
    {
        ["accept"] = ReferralResponse.Accept,
        ["decline"] = ReferralResponse.Decline,
        ["propose-tripartite"] = ReferralResponse.ProposeTripartite,
    };

    /// <summary>Decline reasons by their kebab-case names.</summary>
    public static IReadOnlyDictionary<string, ReferralDeclineReason> DeclineReasons { get; } = new Dictionary<string, ReferralDeclineReason>(StringComparer.Ordinal)
    {
        ["outside-competence"] = ReferralDeclineReason.OutsideCompetence,
        ["outside-territory"] = ReferralDeclineReason.OutsideTerritory,
        ["no-capacity"] = ReferralDeclineReason.NoCapacity,
        ["person-declined"] = ReferralDeclineReason.PersonDeclined,
        ["better-served-elsewhere"] = ReferralDeclineReason.BetterServedElsewhere,
        ["other"] = ReferralDeclineReason.Other,
    };

    /// <summary>The kebab-case name of a response.</summary>
    public static string Name(ReferralResponse response) => CaseJson.NameOf(Responses, response);

    /// <summary>The kebab-case name of a decline reason.</summary>
    public static string Name(ReferralDeclineReason reason) => CaseJson.NameOf(DeclineReasons, reason);

    /// <summary>Checks the answer's shape.</summary>
    /// <exception cref="CaseRecordException">Unknown response, or a decline reason missing or misplaced.</exception>
    public void Validate()
    {
        CaseJson.RequireCaseReference(CaseReference);
        CaseJson.RequireChoice(Response, Responses, "response");

        if ((Response == ReferralResponse.Decline) != DeclineReason.HasValue || (DeclineReason is { } reason && !DeclineReasons.Values.Contains(reason)))
        {
            throw new CaseRecordException("declineReason", $"A decline, and only a decline, names one reason of: {string.Join(", ", DeclineReasons.Keys)}.");
        }
    }

    /// <summary>The closed JSON form.</summary>
    public byte[] Encode()
    {
        Validate();
        return CaseWire.Write(
            new ReferralAnswerJson { Version = Version, CaseReference = CaseReference, Response = Name(Response), DeclineReason = DeclineReason is { } reason ? Name(reason) : null },
            CaseWire.Json.ReferralAnswerJson);
    }

    /// <summary>Reads and validates a received answer.</summary>
    /// <exception cref="CaseRecordException">Not a record of this schema.</exception>
    public static ReferralAnswer Decode(ReadOnlySpan<byte> utf8)
    {
        var json = CaseWire.Read(utf8, CaseWire.Json.ReferralAnswerJson, "referral answer");
        CaseWire.RequireVersion(json.Version, Version, "referral answer");
        var answer = new ReferralAnswer(json.CaseReference, CaseWire.Choice(json.Response, Responses, "response"),
            json.DeclineReason is { } reason ? CaseWire.Choice(reason, DeclineReasons, "declineReason") : null);
        answer.Validate();
        return answer;
    }
}

/// <summary>
/// A file attached to a case note, as the note names it: the file itself travels as a blob encrypted on the sender's
/// device (<see cref="MessagingClient.SendCaseNoteAsync(string, Guid, string, IReadOnlyList{Attachments.AttachmentFile}, CancellationToken)"/>)
/// and uploaded beside the envelope; this reference travels inside the end-to-end encrypted note, so the server never
/// holds the key, the name or the type. Fetch the file with <see cref="MessagingClient.OpenAttachmentAsync"/>.
/// </summary>
/// <param name="AttachmentId">The server's id of the blob (43 base64url characters): the capability to download it.</param>
/// <param name="Key">The blob's 32-byte XChaCha20-Poly1305 key, fresh for this file.</param>
/// <param name="Sha256">SHA-256 of the blob (the ciphertext), checked before decrypting.</param>
/// <param name="Size">The file's size in bytes (the plaintext), at most <see cref="Attachments.AttachmentFile.MaxBytes"/>.</param>
/// <param name="FileName">The file's name, safe to show and write (<see cref="Attachments.AttachmentNames.IsSafe"/>).</param>
/// <param name="MediaType">Its media type, for example <c>application/pdf</c>.</param>
public sealed record CaseAttachment(string AttachmentId, byte[] Key, byte[] Sha256, long Size, string FileName, string MediaType)
{
    /// <summary>Never prints the key or the name.</summary>
    public override string ToString() => $"CaseAttachment {{ Size = {Size} }}";

    /// <summary>Checks every field.</summary>
    /// <exception cref="CaseRecordException">A field is missing or malformed.</exception>
    public void Validate()
    {
        if (AttachmentId is null || AttachmentId.Length != 43 || !AttachmentId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw new CaseRecordException("attachmentId", "'attachmentId' is the server's 43-character attachment id.");
        }

        if (Key is null || Key.Length != Attachments.AttachmentCipher.KeyBytes)
        {
            throw new CaseRecordException("key", $"'key' is {Attachments.AttachmentCipher.KeyBytes} bytes.");
        }

        if (Sha256 is null || Sha256.Length != Attachments.AttachmentCipher.DigestBytes)
        {
            throw new CaseRecordException("sha256", $"'sha256' is {Attachments.AttachmentCipher.DigestBytes} bytes.");
        }

        if (Size is < 0 or > Attachments.AttachmentFile.MaxBytes)
        {
            throw new CaseRecordException("size", $"'size' is 0 to {Attachments.AttachmentFile.MaxBytes} bytes.");
        }

        if (!Attachments.AttachmentNames.IsSafe(FileName))
        {
            throw new CaseRecordException("fileName", $"'fileName' is a name without a folder, control or invisible characters, at most {Attachments.AttachmentNames.MaxFileNameLength} characters.");
        }

        if (!Attachments.AttachmentNames.IsMediaType(MediaType))
        {
            throw new CaseRecordException("mediaType", "'mediaType' is a media type such as application/pdf.");
        }
    }

    internal CaseAttachmentJson ToJson() => new() { AttachmentId = AttachmentId, Key = Key, Sha256 = Sha256, Size = Size, FileName = FileName, MediaType = MediaType };

    internal static CaseAttachment FromJson(CaseAttachmentJson json) => new(json.AttachmentId, json.Key, json.Sha256, json.Size, json.FileName, json.MediaType);
}

/// <summary>
/// Case-file content (protocol 7.A: "le fond du dossier", only with the person's express consent). Travels as a
/// <see cref="Contracts.EnvelopeKind.CaseFile"/> envelope naming a live consent, which the server checks. Attached files
/// travel as encrypted blobs the note references (<see cref="CaseAttachment"/>).
/// <para>Closed schema, version 2: <c>version, caseReference, consentId, text, attachments[]</c>, each attachment
/// <c>attachmentId, key, sha256, size, fileName, mediaType</c>; any other field is refused. Version 1 carried the files
/// inline (at most 24 KiB) and is no longer read.</para>
/// </summary>
/// <param name="CaseReference">The referral's case reference.</param>
/// <param name="ConsentId">The recorded consent it travels under.</param>
/// <param name="Text">The note.</param>
/// <param name="Attachments">References to the attached files, at most <see cref="MaxAttachments"/>.</param>
public sealed record CaseNote(string CaseReference, Guid ConsentId, string Text, IReadOnlyList<CaseAttachment> Attachments)
{
    /// <summary>The record's format version.</summary>
    public const int Version = 2;

    /// <summary>The longest note, in characters.</summary>
    public const int MaxTextLength = 8_000;

    /// <summary>The most files one note references.</summary>
    public const int MaxAttachments = 10;

    /// <summary>Checks the note.</summary>
    /// <exception cref="CaseRecordException">Empty, too long, too many attachments, or an attachment reference malformed.</exception>
    public void Validate()
    {
        CaseJson.RequireCaseReference(CaseReference);
        if (ConsentId == Guid.Empty)
        {
            throw new CaseRecordException("consentId", "A case note names the consent it travels under.");
        }

        ArgumentNullException.ThrowIfNull(Attachments);
        CaseJson.RequireText(Text, "text", MaxTextLength, required: Attachments.Count == 0);
        if (Attachments.Count > MaxAttachments)
        {
            throw new CaseRecordException("attachments", $"A case note references at most {MaxAttachments} files.");
        }

        foreach (var attachment in Attachments)
        {
            attachment.Validate();
        }
    }

    /// <summary>The closed JSON form.</summary>
    /// <exception cref="CaseRecordException">The note does not validate.</exception>
    public byte[] Encode()
    {
        Validate();
        return CaseWire.Write(
            new CaseNoteJson { Version = Version, CaseReference = CaseReference, ConsentId = ConsentId, Text = Text, Attachments = [.. Attachments.Select(a => a.ToJson())] },
            CaseWire.Json.CaseNoteJson);
    }

    /// <summary>Reads and validates a received note.</summary>
    /// <exception cref="CaseRecordException">Not a record of this schema.</exception>
    public static CaseNote Decode(ReadOnlySpan<byte> utf8)
    {
        var json = CaseWire.Read(utf8, CaseWire.Json.CaseNoteJson, "case note");
        CaseWire.RequireVersion(json.Version, Version, "case note");
        var attachments = json.Attachments ?? [];
        if (attachments.Count > MaxAttachments)
        {
            throw new CaseRecordException("attachments", $"A case note references at most {MaxAttachments} files.");
        }

        var note = new CaseNote(json.CaseReference, json.ConsentId, json.Text ?? "", [.. attachments.Select(CaseAttachment.FromJson)]);
        note.Validate();
        return note;
    }

    /// <summary>Never prints the note.</summary>
    public override string ToString() => $"CaseNote {{ CaseReference = {CaseReference}, Attachments = {Attachments.Count} }}";
}
