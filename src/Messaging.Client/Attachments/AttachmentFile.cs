using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Messaging.Client.Attachments;

/// <summary>A file attached to a case note: the one to send, or the one received once downloaded, checked and decrypted.</summary>
/// <param name="FileName">The file's name without folder; <see cref="AttachmentNames.Sanitise"/> it first when it comes
/// from a path or a user.</param>
/// <param name="MediaType">Its media type, for example <c>application/pdf</c>.</param>
/// <param name="Content">Its bytes, at most <see cref="MaxBytes"/>.</param>
public sealed record AttachmentFile(string FileName, string MediaType, byte[] Content)
{
    /// <summary>The largest file, in bytes: the server's 25 MiB blob limit less the encryption overhead (41 bytes), so
    /// that the encrypted blob of the largest file is exactly 25 MiB.</summary>
    public const long MaxBytes = (25L * 1024 * 1024) - AttachmentCipher.Overhead;

    /// <summary>Reads a file from disk to attach it: refuses it by its length before reading when it is too large, and
    /// names it by its sanitised file name.</summary>
    /// <param name="path">The file.</param>
    /// <param name="mediaType">Its media type.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The file to send.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> or <paramref name="mediaType"/> is null or empty.</exception>
    /// <exception cref="AttachmentTooLargeException">The file is larger than <see cref="MaxBytes"/>; it was not read.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static async Task<AttachmentFile> ReadAsync(string path, string mediaType, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(mediaType);
        var length = new FileInfo(path).Length;
        if (length > MaxBytes)
        {
            throw AttachmentTooLargeException.OnDevice(length);
        }

        return new AttachmentFile(AttachmentNames.Sanitise(Path.GetFileName(path)), mediaType, await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Writes the file into <paramref name="folder"/> under its (sanitised) name, never over an existing file
    /// (<c>name (2).ext</c> and so on), readable by this user only on Unix.</summary>
    /// <param name="folder">An existing folder.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The path written.</returns>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public async Task<string> SaveToAsync(string folder, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var name = AttachmentNames.Sanitise(FileName);
        var stem = Path.GetFileNameWithoutExtension(name);
        var extension = Path.GetExtension(name);
        for (var attempt = 1; ; attempt++)
        {
            var path = Path.Combine(folder, attempt == 1 ? name : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{stem} ({attempt}){extension}"));
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            FileStream stream;
            try
            {
                stream = new FileStream(path, options);
            }
            catch (IOException) when (File.Exists(path) && attempt < 1000)
            {
                continue;
            }

            await using (stream.ConfigureAwait(false))
            {
                await stream.WriteAsync(Content, cancellationToken).ConfigureAwait(false);
            }

            return path;
        }
    }

    /// <summary>Never prints the content.</summary>
    public override string ToString() => $"AttachmentFile {{ Bytes = {Content.Length} }}";
}

/// <summary>File names and media types of attachments: what a sender may announce and a receiver may write to disk.</summary>
public static partial class AttachmentNames
{
    /// <summary>The longest file name, in characters.</summary>
    public const int MaxFileNameLength = 120;

    /// <summary>The longest media type, in characters.</summary>
    public const int MaxMediaTypeLength = 100;

    private static readonly string[] WindowsDeviceNames = ["CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
        "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9"];

    /// <summary>
    /// A name safe to show and to write in any folder: the last path segment only (both separators), control, format
    /// (right-to-left overrides, zero-width characters) and separator characters removed, characters reserved by
    /// Windows replaced by <c>_</c>, no leading or trailing dot or space (hidden files, Windows trimming), not a Windows
    /// device name, at most <see cref="MaxFileNameLength"/> characters keeping the extension; <c>attachment</c> when
    /// nothing is left.
    /// </summary>
    /// <param name="name">A path or name, possibly hostile.</param>
    /// <returns>The safe name; equal to <paramref name="name"/> when it was safe already.</returns>
    public static string Sanitise(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var lastSegment = name[(name.LastIndexOfAny(['/', '\\']) + 1)..];
        var kept = new StringBuilder(lastSegment.Length);
        foreach (var rune in lastSegment.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                or UnicodeCategory.Surrogate or UnicodeCategory.OtherNotAssigned or UnicodeCategory.PrivateUse || rune == Rune.ReplacementChar)
            {
                continue;
            }

            kept.Append(rune.Value is '<' or '>' or ':' or '"' or '|' or '?' or '*' ? "_" : rune.ToString());
        }

        var safe = kept.ToString().Trim(' ', '.');
        if (safe.Length == 0)
        {
            return "attachment";
        }

        if (WindowsDeviceNames.Contains(safe.Split('.')[0].TrimEnd(' '), StringComparer.OrdinalIgnoreCase))
        {
            safe = "_" + safe;
        }

        if (safe.Length > MaxFileNameLength)
        {
            var extension = Path.GetExtension(safe);
            extension = extension.Length is > 1 and <= 16 ? extension : "";
            safe = Truncate(safe[..^extension.Length], MaxFileNameLength - extension.Length).TrimEnd(' ', '.') + extension;
        }

        return safe;
    }

    /// <summary>Whether <paramref name="name"/> is already safe (<see cref="Sanitise"/> leaves it unchanged).</summary>
    public static bool IsSafe(string? name) => name is not null && name.Length <= MaxFileNameLength && Sanitise(name) == name;

    /// <summary>Whether <paramref name="mediaType"/> has the <c>type/subtype</c> shape (RFC 6838 characters, no parameters).</summary>
    public static bool IsMediaType(string? mediaType) => mediaType is not null && mediaType.Length <= MaxMediaTypeLength && MediaTypeShape().IsMatch(mediaType);

    private static string Truncate(string text, int length)
        => length <= 0 ? "" : text.Length <= length ? text : char.IsHighSurrogate(text[length - 1]) ? text[..(length - 1)] : text[..length];

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex MediaTypeShape();
}
