using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Messaging.Contracts.Referrals;

namespace Messaging.Client.Cases;

/// <summary>Writes the closed JSON forms (UTF-8, no indentation, fields in a fixed order).</summary>
internal static class CaseJson
{
    public static byte[] Write(Action<Utf8JsonWriter> fields)
    {
        var buffer = new ArrayBufferWriter<byte>();
        // Relaxed escaping: these forms are never embedded in HTML, and escaping every accented letter as \uXXXX would
        // triple the size of French text inside a size-limited envelope.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            fields(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

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

    private static readonly IReadOnlyList<string> WireFields = ["version", "caseReference", "familyName", "givenNames", "birthDate", "phone", "email", "postalAddress"];

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
        return CaseJson.Write(writer =>
        {
            writer.WriteNumber("version", Version);
            writer.WriteString("caseReference", CaseReference);
            writer.WriteString("familyName", FamilyName);
            writer.WriteString("givenNames", GivenNames);
            if (BirthDate is { } birthDate)
            {
                writer.WriteString("birthDate", birthDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            }

            WriteOptional(writer, "phone", Phone);
            WriteOptional(writer, "email", Email);
            WriteOptional(writer, "postalAddress", PostalAddress);
        });
    }

    /// <summary>Reads and validates a received identity share.</summary>
    /// <exception cref="CaseRecordException">Not a record of this schema.</exception>
    public static PersonIdentity Decode(ReadOnlySpan<byte> utf8)
    {
        var json = StrictJson.Parse(utf8, "identity share", WireFields);
        json.RequireVersion(Version);
        var identity = new PersonIdentity(json.RequiredString("caseReference"), json.RequiredString("familyName"), json.RequiredString("givenNames"),
            json.OptionalDate("birthDate"), json.OptionalString("phone"), json.OptionalString("email"), json.OptionalString("postalAddress"));
        identity.Validate();
        return identity;
    }

    /// <summary>Never prints the identity.</summary>
    public override string ToString() => $"PersonIdentity {{ CaseReference = {CaseReference} }}";

    private static void WriteOptional(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }
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

    private static readonly IReadOnlyList<string> WireFields = ["version", "caseReference", "response", "declineReason"];

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
        return CaseJson.Write(writer =>
        {
            writer.WriteNumber("version", Version);
            writer.WriteString("caseReference", CaseReference);
            writer.WriteString("response", Name(Response));
            if (DeclineReason is { } reason)
            {
                writer.WriteString("declineReason", Name(reason));
            }
        });
    }

    /// <summary>Reads and validates a received answer.</summary>
    /// <exception cref="CaseRecordException">Not a record of this schema.</exception>
    public static ReferralAnswer Decode(ReadOnlySpan<byte> utf8)
    {
        var json = StrictJson.Parse(utf8, "referral answer", WireFields);
        json.RequireVersion(Version);
        var answer = new ReferralAnswer(json.RequiredString("caseReference"), json.RequiredChoice("response", Responses),
            json.Has("declineReason") ? json.RequiredChoice("declineReason", DeclineReasons) : null);
        answer.Validate();
        return answer;
    }
}

/// <summary>An attachment of a case note.</summary>
/// <param name="FileName">The file's name (no folder).</param>
/// <param name="MediaType">Its media type, for example <c>application/pdf</c>.</param>
/// <param name="Content">Its bytes.</param>
public sealed record CaseAttachment(string FileName, string MediaType, byte[] Content)
{
    /// <summary>Never prints the content.</summary>
    public override string ToString() => $"CaseAttachment {{ Bytes = {Content.Length} }}";
}

/// <summary>
/// Case-file content (protocol 7.A: "le fond du dossier", only with the person's express consent). Travels as a
/// <see cref="Contracts.EnvelopeKind.CaseFile"/> envelope naming a live consent, which the server checks.
/// </summary>
/// <param name="CaseReference">The referral's case reference.</param>
/// <param name="ConsentId">The recorded consent it travels under.</param>
/// <param name="Text">The note.</param>
/// <param name="Attachments">Files, within <see cref="MaxAttachmentBytes"/> in all.</param>
public sealed record CaseNote(string CaseReference, Guid ConsentId, string Text, IReadOnlyList<CaseAttachment> Attachments)
{
    /// <summary>The record's format version.</summary>
    public const int Version = 1;

    /// <summary>The longest note, in characters.</summary>
    public const int MaxTextLength = 8_000;

    /// <summary>All attachments together, in bytes (one envelope carries at most 64 KiB of ciphertext per device).</summary>
    public const int MaxAttachmentBytes = 24 * 1024;

    private static readonly IReadOnlyList<string> WireFields = ["version", "caseReference", "consentId", "text", "attachments"];
    private static readonly IReadOnlyList<string> AttachmentFields = ["fileName", "mediaType", "content"];

    /// <summary>Checks the note.</summary>
    /// <exception cref="CaseRecordException">Empty, too long, or attachments too large or badly named.</exception>
    public void Validate()
    {
        CaseJson.RequireCaseReference(CaseReference);
        if (ConsentId == Guid.Empty)
        {
            throw new CaseRecordException("consentId", "A case note names the consent it travels under.");
        }

        CaseJson.RequireText(Text, "text", MaxTextLength, required: Attachments.Count == 0);
        if (Attachments.Sum(a => (long)a.Content.Length) > MaxAttachmentBytes)
        {
            throw new CaseRecordException("attachments", $"Attachments are at most {MaxAttachmentBytes} bytes in all.");
        }

        foreach (var attachment in Attachments)
        {
            CaseJson.RequireText(attachment.FileName, "fileName", 120, required: true);
            CaseJson.RequireText(attachment.MediaType, "mediaType", 100, required: true);
            if (attachment.FileName.IndexOfAny(['/', '\\']) >= 0 || attachment.FileName is "." or "..")
            {
                throw new CaseRecordException("fileName", "'fileName' is a name without a folder.");
            }
        }
    }

    /// <summary>The closed JSON form.</summary>
    public byte[] Encode()
    {
        Validate();
        return CaseJson.Write(writer =>
        {
            writer.WriteNumber("version", Version);
            writer.WriteString("caseReference", CaseReference);
            writer.WriteString("consentId", ConsentId.ToString("D"));
            writer.WriteString("text", Text);
            writer.WriteStartArray("attachments");
            foreach (var attachment in Attachments)
            {
                writer.WriteStartObject();
                writer.WriteString("fileName", attachment.FileName);
                writer.WriteString("mediaType", attachment.MediaType);
                writer.WriteBase64String("content", attachment.Content);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        });
    }

    /// <summary>Reads and validates a received note.</summary>
    /// <exception cref="CaseRecordException">Not a record of this schema.</exception>
    public static CaseNote Decode(ReadOnlySpan<byte> utf8)
    {
        var json = StrictJson.Parse(utf8, "case note", WireFields);
        json.RequireVersion(Version);
        var attachments = new List<CaseAttachment>();
        foreach (var element in json.OptionalArray("attachments"))
        {
            var item = StrictJson.Parse(JsonSerializer.SerializeToUtf8Bytes(element), "case note attachment", AttachmentFields);
            byte[] content;
            try
            {
                content = Convert.FromBase64String(item.RequiredString("content"));
            }
            catch (FormatException)
            {
                throw new CaseRecordException("content", "'content' of an attachment must be base64.");
            }

            attachments.Add(new CaseAttachment(item.RequiredString("fileName"), item.RequiredString("mediaType"), content));
        }

        var note = new CaseNote(json.RequiredString("caseReference"), json.RequiredGuid("consentId"), json.OptionalString("text") ?? "", attachments);
        note.Validate();
        return note;
    }

    /// <summary>Never prints the note.</summary>
    public override string ToString() => $"CaseNote {{ CaseReference = {CaseReference}, Attachments = {Attachments.Count} }}";
}
