using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;

namespace Messaging.App.Security;

/// <summary>
/// How the app opens the worker's browser without handing the launch secret to another process's arguments (which every
/// local user can read in <c>/proc/PID/cmdline</c> while the launcher runs, outside review 2026-11-29, app F4). The secret
/// goes into a small HTML file only the worker can read (0600, in a 0700 folder of the worker's own: the session's
/// runtime folder <c>$XDG_RUNTIME_DIR</c>, else beside the key store); the browser is given the file's address, and the
/// page posts the secret to <c>/launch</c> by itself (a form, so the secret is in no URL either). The file is deleted
/// once the secret was used, and at the latest when the app stops.
/// </summary>
internal sealed class LaunchPage : IDisposable
{
    public const string FolderName = "messaging-app";

    private const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private LaunchPage(string path) => Path = path;

    /// <summary>The file, named at random (another launch's file is never reused).</summary>
    public string Path { get; }

    /// <summary>The browser's address for the file: the only thing that appears in the launcher's arguments.</summary>
    public Uri Address => new(Path);

    /// <summary>The folder for launch pages: <c>$XDG_RUNTIME_DIR/messaging-app</c> when the session has a runtime folder,
    /// else <c>messaging-app</c> beside the key store (the app's own data folder).</summary>
    public static string FolderFor(string storePath, Func<string, string?> environment)
        => System.IO.Path.Combine(
            environment("XDG_RUNTIME_DIR") is { Length: > 0 } runtime && System.IO.Path.IsPathFullyQualified(runtime) && Directory.Exists(runtime)
                ? runtime
                : System.IO.Path.GetDirectoryName(storePath)!,
            FolderName);

    /// <summary>Writes the page that posts <paramref name="key"/> to <paramref name="launchEndpoint"/>, readable by its owner only.</summary>
    public static LaunchPage Write(string folder, Uri launchEndpoint, string key)
    {
        if (OperatingSystem.IsWindows())
        {
            // The user's profile folders are the user's own by their ACLs.
            Directory.CreateDirectory(folder);
        }
        else
        {
            Directory.CreateDirectory(folder, OwnerOnlyFolder);
            // An older folder made under another umask, or by hand: owner only, whatever it was.
            File.SetUnixFileMode(folder, OwnerOnlyFolder);
        }

        var path = System.IO.Path.Combine(folder, $"launch-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}.html");
        var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            create.UnixCreateMode = OwnerOnlyFile;
        }

        using (var writer = new StreamWriter(new FileStream(path, create), new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false)))
        {
            writer.Write(Html(launchEndpoint, key));
        }

        return new LaunchPage(path);
    }

    /// <summary>What opens the browser on the page: the system's opener (xdg-open, open, the Windows shell) with the
    /// file's address as its only argument.</summary>
    public ProcessStartInfo StartInfo() => new(Address.AbsoluteUri) { UseShellExecute = true };

    /// <summary>The page: a form that posts the key as soon as it is loaded (a button when scripts are off). It is a
    /// local file, outside the app's Content-Security-Policy; it loads nothing and sends no referrer.</summary>
    internal static string Html(Uri launchEndpoint, string key) => $"""
        <!DOCTYPE html>
        <html lang="fr">
        <head>
        <meta charset="utf-8">
        <meta name="referrer" content="no-referrer">
        <title>Messaging</title>
        </head>
        <body>
        <form id="launch" method="post" action="{WebUtility.HtmlEncode(launchEndpoint.AbsoluteUri)}">
        <input type="hidden" name="key" value="{WebUtility.HtmlEncode(key)}">
        <noscript><button type="submit">Messaging</button></noscript>
        </form>
        <script>document.getElementById('launch').submit();</script>
        </body>
        </html>
        """;

    /// <summary>Deletes the page (the secret in it is spent, or the app stops); a second call does nothing.</summary>
    public void Dispose()
    {
        try
        {
            File.Delete(Path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Gone already, or its folder was removed: the key it holds opens nothing once used or once the app stopped.
        }
    }
}
