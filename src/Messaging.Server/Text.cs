using System.Globalization;
using System.Text;
using Messaging.Server.Errors;

// In the root namespace so that every feature (Organisations, Members, Directory, Partners) sees it without a using:
// shared rules, owned by no one feature.
namespace Messaging.Server;

/// <summary>Validation of human-entered text fields (names of organisations, members, communes and join requests, work
/// emails): bounded, trimmed, no invisible or look-alike characters.</summary>
internal static class Text
{
    public const int MaxNameLength = 200;

    public static string RequireName(string? value, string field)
    {
        var trimmed = value?.Trim();
        if (string.IsNullOrEmpty(trimmed) || trimmed.Length > MaxNameLength || trimmed.Any(char.IsControl))
        {
            throw new MalformedRequestException($"The {field} must be 1 to {MaxNameLength} printable characters.");
        }

        RequireVisible(trimmed, field);
        return trimmed;
    }

    /// <summary>
    /// Refuses characters that change how a name looks without being seen: bidirectional controls (U+202A–U+202E,
    /// U+2066–U+2069, U+200E/U+200F, U+061C), zero-width characters (U+200B–U+200D, U+2060, U+FEFF) and every other
    /// format character (Unicode category Cf), line and paragraph separators, unpaired surrogates and unassigned code
    /// points. With them one member or service can be made to look like another (issue 11, item 7).
    /// </summary>
    public static void RequireVisible(string value, string field)
    {
        if (value.EnumerateRunes().Any(IsInvisible))
        {
            throw new MalformedRequestException($"The {field} contains invisible or direction-changing characters.");
        }
    }

    // An unpaired surrogate enumerates as U+FFFD, which has no place in a name either.
    private static bool IsInvisible(Rune rune) => rune == Rune.ReplacementChar || Rune.GetUnicodeCategory(rune) is UnicodeCategory.Format
        or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.OtherNotAssigned or UnicodeCategory.PrivateUse;

    public static string RequireEmail(string? value)
    {
        var trimmed = value?.Trim();
        var at = trimmed?.IndexOf('@', StringComparison.Ordinal) ?? -1;
        if (string.IsNullOrEmpty(trimmed) || trimmed.Length > 254 || at <= 0 || at != trimmed.LastIndexOf('@')
            || at == trimmed.Length - 1 || trimmed.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            throw new MalformedRequestException("The work email is not a valid address.");
        }

        RequireVisible(trimmed, "work email");

        return trimmed;
    }
}
