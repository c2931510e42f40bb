using System.Globalization;
using System.Text.Json;

namespace Messaging.Client.Cases;

/// <summary>
/// Reads a JSON object against a closed allow-list of property names: anything else (an unknown name, a duplicate, a
/// value of the wrong type) is a <see cref="CaseRecordException"/> naming the field. Error messages never quote values,
/// since they may be the personal data the schema keeps out.
/// </summary>
internal sealed class StrictJson
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 8 };
    private readonly string _record;
    private readonly Dictionary<string, JsonElement> _properties;

    private StrictJson(string record, Dictionary<string, JsonElement> properties)
    {
        _record = record;
        _properties = properties;
    }

    /// <summary>Parses <paramref name="utf8"/> as one object whose property names all belong to <paramref name="allowed"/>.</summary>
    public static StrictJson Parse(ReadOnlySpan<byte> utf8, string record, IReadOnlyCollection<string> allowed)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8.ToArray(), DocumentOptions);
        }
        catch (JsonException)
        {
            throw new CaseRecordException(record, $"The {record} is not well-formed JSON.");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new CaseRecordException(record, $"The {record} must be a JSON object.");
            }

            var properties = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!allowed.Contains(property.Name))
                {
                    throw new CaseRecordException(property.Name,
                        $"'{Printable(property.Name)}' is not a field of a {record}; the only fields are: {string.Join(", ", allowed)}.");
                }

                if (!properties.TryAdd(property.Name, property.Value.Clone()))
                {
                    throw new CaseRecordException(property.Name, $"'{property.Name}' appears twice in the {record}.");
                }
            }

            return new StrictJson(record, properties);
        }
    }

    public bool Has(string name) => _properties.ContainsKey(name);

    public string RequiredString(string name) => OptionalString(name) ?? throw Missing(name);

    public string? OptionalString(string name)
    {
        if (!_properties.TryGetValue(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw WrongType(name, "a string");
    }

    public bool RequiredBoolean(string name)
    {
        if (!_properties.TryGetValue(name, out var value))
        {
            throw Missing(name);
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw WrongType(name, "true or false"),
        };
    }

    public int RequiredInt32(string name)
    {
        if (!_properties.TryGetValue(name, out var value))
        {
            throw Missing(name);
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) ? number : throw WrongType(name, "a whole number");
    }

    public long RequiredInt64(string name)
    {
        if (!_properties.TryGetValue(name, out var value))
        {
            throw Missing(name);
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : throw WrongType(name, "a whole number");
    }

    public byte[] RequiredBase64(string name)
    {
        var text = RequiredString(name);
        var bytes = new byte[(text.Length * 3 / 4) + 3];
        return Convert.TryFromBase64String(text, bytes, out var written) ? bytes[..written] : throw WrongType(name, "base64");
    }

    public Guid RequiredGuid(string name)
        => Guid.TryParseExact(RequiredString(name), "D", out var id) && id != Guid.Empty ? id : throw WrongType(name, "an id");

    public DateOnly? OptionalDate(string name)
        => OptionalString(name) is { } text
            ? DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) ? date : throw WrongType(name, "a date (yyyy-MM-dd)")
            : null;

    public IReadOnlyList<JsonElement> OptionalArray(string name)
    {
        if (!_properties.TryGetValue(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        return value.ValueKind == JsonValueKind.Array ? [.. value.EnumerateArray()] : throw WrongType(name, "a list");
    }

    /// <summary>A closed-list value written in kebab-case.</summary>
    public T RequiredChoice<T>(string name, IReadOnlyDictionary<string, T> choices)
        where T : struct, Enum
        => choices.TryGetValue(RequiredString(name), out var choice)
            ? choice
            : throw new CaseRecordException(name, $"'{name}' must be one of: {string.Join(", ", choices.Keys)}.");

    public void RequireVersion(int expected)
    {
        if (RequiredInt32("version") != expected)
        {
            throw new CaseRecordException("version", $"This device reads version {expected} of the {_record} only.");
        }
    }

    private CaseRecordException Missing(string name) => new(name, $"The {_record} needs '{name}'.");

    private CaseRecordException WrongType(string name, string expected) => new(name, $"'{name}' of the {_record} must be {expected}.");

    /// <summary>A property name is echoed (the caller needs to know which field), but bounded and without control characters.</summary>
    private static string Printable(string name)
    {
        var shown = new string([.. name.Take(40).Select(c => char.IsControl(c) ? '?' : c)]);
        return name.Length > 40 ? shown + "…" : shown;
    }
}
