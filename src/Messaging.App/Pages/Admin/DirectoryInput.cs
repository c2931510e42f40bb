using Messaging.Contracts;

namespace Messaging.App.Pages.Admin;

/// <summary>
/// The directory forms' input, checked as the command line checks it before anything reaches the server: a name of 1 to
/// 200 printable characters, values from the closed lists (exact), five-digit NIS codes. A field left empty means
/// "unchanged" where the server allows it. Each refusal names the text key of its sentence.
/// </summary>
internal static class DirectoryInput
{
    /// <summary>The server's limit for an organisation's or a commune's name.</summary>
    public const int MaxNameLength = 200;

    /// <summary>Organisation types a service may be created or join as (the operator is not a party).</summary>
    public static IReadOnlyList<string> PartnerTypes { get; } = [OrganisationTypes.PreventionService, OrganisationTypes.Coordination, OrganisationTypes.JusticeHouse];

    /// <summary>A field's value refused before it is sent; <see cref="Exception.Message"/> is the key of the sentence shown.</summary>
    public sealed class Refused(string key) : Exception(key);

    public static string Name(string? value)
    {
        var trimmed = value?.Trim();
        return string.IsNullOrEmpty(trimmed) || trimmed.Length > MaxNameLength || trimmed.Any(char.IsControl)
            ? throw new Refused("directory-admin.invalid-name")
            : trimmed;
    }

    /// <summary>Null for an empty field, else one of <paramref name="allowed"/>.</summary>
    public static string? Choice(string? value, IReadOnlyList<string> allowed)
        => string.IsNullOrEmpty(value) ? null
            : allowed.Contains(value, StringComparer.Ordinal) ? value
            : throw new Refused("failure.record");

    /// <summary>One of <paramref name="allowed"/>, for a field that cannot stay empty.</summary>
    public static string RequiredChoice(string? value, IReadOnlyList<string> allowed)
        => Choice(value, allowed) ?? throw new Refused("failure.record");

    /// <summary>Null for an empty field, else true or false.</summary>
    public static bool? TrueOrFalse(string? value)
        => value switch
        {
            null or "" => null,
            "true" => true,
            "false" => false,
            _ => throw new Refused("failure.record"),
        };

    /// <summary>NIS codes separated by commas or spaces (an empty field is an empty list).</summary>
    public static string[] NisCodes(string? value)
        => [.. (value ?? "").Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(NisCode).Distinct(StringComparer.Ordinal)];

    public static string NisCode(string? value)
    {
        var trimmed = value?.Trim();
        return trimmed is { Length: 5 } && trimmed.All(char.IsAsciiDigit) ? trimmed : throw new Refused("directory-admin.invalid-nis");
    }
}
