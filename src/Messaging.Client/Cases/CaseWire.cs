using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Messaging.Client.Cases;

/// <summary>
/// The closed JSON forms on System.Text.Json: strict options (no unknown, duplicate, missing or null-for-required
/// field), source-generated metadata. A refusal is a <see cref="CaseRecordException"/> naming the field taken from
/// <see cref="JsonException.Path"/>; the serializer's own message is never shown, and no message quotes a value,
/// since values may be the personal data the schema keeps out.
/// </summary>
internal static class CaseWire
{
    public static CaseJsonContext Json { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowDuplicateProperties = false,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        MaxDepth = 8,

        // Relaxed escaping: these forms are never embedded in HTML, and escaping every accented letter as \uXXXX would
        // triple the size of French text inside a size-limited envelope.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    /// <summary>UTF-8, no indentation, fields in declaration order, absent optional fields omitted.</summary>
    public static byte[] Write<T>(T value, JsonTypeInfo<T> type) => JsonSerializer.SerializeToUtf8Bytes(value, type);

    public static T Read<T>(ReadOnlySpan<byte> utf8, JsonTypeInfo<T> type, string record)
    {
        try
        {
            return JsonSerializer.Deserialize(utf8, type) ?? throw new CaseRecordException(record, $"The {record} must be a JSON object.");
        }
        catch (JsonException e)
        {
            throw Refusal(e, utf8, type, record);
        }
    }

    /// <summary>Refuses a version this device does not read.</summary>
    public static void RequireVersion(int version, int expected, string record)
    {
        if (version != expected)
        {
            throw new CaseRecordException("version", $"This device reads version {expected} of the {record} only.");
        }
    }

    /// <summary>A closed-list value written in kebab-case.</summary>
    public static T Choice<T>(string value, IReadOnlyDictionary<string, T> choices, string field)
        where T : struct, Enum
        => choices.TryGetValue(value, out var choice) ? choice : throw new CaseRecordException(field, $"'{field}' must be one of: {string.Join(", ", choices.Keys)}.");

    private static CaseRecordException Refusal(JsonException e, ReadOnlySpan<byte> utf8, JsonTypeInfo type, string record)
    {
        // The serializer says where, not what: the error path re-reads the form to say which rule it broke.
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException)
        {
            return new CaseRecordException(record, $"The {record} is not well-formed JSON.");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return new CaseRecordException(record, $"The {record} must be a JSON object.");
            }

            if (LastPropertyName(e.Path) is not { } field)
            {
                var missing = FirstMissing(document.RootElement, type) ?? record;
                return new CaseRecordException(missing, $"The {record} needs '{missing}'.");
            }

            var known = Fields(type).FirstOrDefault(p => p.Name == field);
            return known is null
                ? new CaseRecordException(field, $"'{Printable(field)}' is not a field of a {record}; the only fields are: {string.Join(", ", Fields(type).Select(p => p.Name).Distinct())}.")
                : new CaseRecordException(field, $"'{field}' of the {record} must be {Expected(known.PropertyType)}, once.");
        }
    }

    /// <summary>The fields of a form and of the objects it nests (a case note's attachments).</summary>
    private static IEnumerable<JsonPropertyInfo> Fields(JsonTypeInfo type)
        => type.Properties.SelectMany(p => ElementType(p.PropertyType) is { } element
            ? [p, .. Fields(type.Options.GetTypeInfo(element))]
            : new[] { p });

    private static Type? ElementType(Type type)
        => type != typeof(byte[]) && type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>) ? type.GetGenericArguments()[0] : null;

    /// <summary>The first required field absent from <paramref name="element"/> or from an object it nests.</summary>
    private static string? FirstMissing(JsonElement element, JsonTypeInfo type)
    {
        foreach (var property in type.Properties)
        {
            if (!element.TryGetProperty(property.Name, out var value))
            {
                if (property.IsRequired)
                {
                    return property.Name;
                }
            }
            else if (ElementType(property.PropertyType) is { } item && value.ValueKind == JsonValueKind.Array)
            {
                var itemType = type.Options.GetTypeInfo(item);
                if (value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.Object).Select(v => FirstMissing(v, itemType)).FirstOrDefault(m => m is not null) is { } missing)
                {
                    return missing;
                }
            }
        }

        return null;
    }

    /// <summary>The last property name of a path such as <c>$.attachments[0].key</c> or <c>$['a.b']</c>; null when it ends at an object or array.</summary>
    private static string? LastPropertyName(string? path)
    {
        if (path is null || path.EndsWith(']') && !path.EndsWith("']", StringComparison.Ordinal))
        {
            return null;
        }

        if (path.EndsWith("']", StringComparison.Ordinal))
        {
            var start = path.LastIndexOf("['", StringComparison.Ordinal);
            return start < 0 ? null : path[(start + 2)..^2].Replace("\\'", "'", StringComparison.Ordinal);
        }

        var dot = path.LastIndexOf('.');
        return dot < 0 ? null : path[(dot + 1)..];
    }

    private static string Expected(Type type) => (Nullable.GetUnderlyingType(type) ?? type) switch
    {
        var t when t == typeof(string) => "a string",
        var t when t == typeof(bool) => "true or false",
        var t when t == typeof(int) || t == typeof(long) => "a whole number",
        var t when t == typeof(byte[]) => "base64",
        var t when t == typeof(Guid) => "an id",
        var t when t == typeof(DateOnly) => "a date (yyyy-MM-dd)",
        _ => "a list",
    };

    /// <summary>A property name is echoed (the caller needs to know which field), but bounded and without control characters.</summary>
    private static string Printable(string name)
    {
        var shown = new string([.. name.Take(40).Select(c => char.IsControl(c) ? '?' : c)]);
        return name.Length > 40 ? shown + "…" : shown;
    }
}

/// <summary>The source-generated metadata of the closed forms; options come from <see cref="CaseWire.Json"/>.</summary>
[JsonSerializable(typeof(ReferralDraftJson))]
[JsonSerializable(typeof(ReferralJson))]
[JsonSerializable(typeof(PersonIdentityJson))]
[JsonSerializable(typeof(ReferralAnswerJson))]
[JsonSerializable(typeof(CaseNoteJson))]
internal sealed partial class CaseJsonContext : JsonSerializerContext;

/// <summary>The form a worker writes: the referral without its version and generated case reference.</summary>
internal record ReferralDraftJson
{
    public required string Nature { get; init; }

    public required string Requester { get; init; }

    public required string Commune { get; init; }

    public required bool FollowUpOngoing { get; init; }

    public required string Reason { get; init; }

    public required string Urgency { get; init; }
}

/// <summary>A referral as it travels (<see cref="ReferralRecord"/>): version and case reference first, then the draft's fields.</summary>
internal sealed record ReferralJson : ReferralDraftJson
{
    [JsonPropertyOrder(-2)]
    public required int Version { get; init; }

    [JsonPropertyOrder(-1)]
    public required string CaseReference { get; init; }
}

/// <summary>An identity share as it travels (<see cref="PersonIdentity"/>).</summary>
internal sealed record PersonIdentityJson
{
    public required int Version { get; init; }

    public required string CaseReference { get; init; }

    public required string FamilyName { get; init; }

    public required string GivenNames { get; init; }

    public DateOnly? BirthDate { get; init; }

    public string? Phone { get; init; }

    public string? Email { get; init; }

    public string? PostalAddress { get; init; }
}

/// <summary>A referral answer as it travels (<see cref="ReferralAnswer"/>).</summary>
internal sealed record ReferralAnswerJson
{
    public required int Version { get; init; }

    public required string CaseReference { get; init; }

    public required string Response { get; init; }

    public string? DeclineReason { get; init; }
}

/// <summary>A case note as it travels (<see cref="CaseNote"/>).</summary>
internal sealed record CaseNoteJson
{
    public required int Version { get; init; }

    public required string CaseReference { get; init; }

    public required Guid ConsentId { get; init; }

    public string? Text { get; init; }

    public IReadOnlyList<CaseAttachmentJson>? Attachments { get; init; }
}

/// <summary>An attachment reference inside a case note (<see cref="CaseAttachment"/>).</summary>
internal sealed record CaseAttachmentJson
{
    public required string AttachmentId { get; init; }

    public required byte[] Key { get; init; }

    public required byte[] Sha256 { get; init; }

    public required long Size { get; init; }

    public required string FileName { get; init; }

    public required string MediaType { get; init; }
}
