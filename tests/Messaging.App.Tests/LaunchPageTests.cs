using Messaging.App.Security;

namespace Messaging.App.Tests;

/// <summary>Outside review 2026-11-29, app F4: the browser is opened on a local file only the worker can read, never on
/// the launch link, so the secret is in no process's arguments (which every local user can read in /proc).</summary>
public sealed class LaunchPageTests : IDisposable
{
    private const string Key = "c2VjcmV0LWxhdW5jaC1rZXktZm9yLXRoZS10ZXN0cw";
    private static readonly Uri Endpoint = new("http://127.0.0.1:45678/launch");

    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("messaging-launch-");

    [Fact]
    public void TheLauncher_GetsTheFilesAddressOnly_NeverTheKey()
    {
        using var page = LaunchPage.Write(Path.Combine(_root.FullName, LaunchPage.FolderName), Endpoint, Key);
        var start = page.StartInfo();

        Assert.True(start.UseShellExecute);
        Assert.Equal(new Uri(page.Path).AbsoluteUri, start.FileName);
        Assert.StartsWith("file:///", start.FileName, StringComparison.Ordinal);
        Assert.Empty(start.Arguments);
        Assert.Empty(start.ArgumentList);
        Assert.DoesNotContain(Key, start.FileName, StringComparison.Ordinal);
        Assert.DoesNotContain("key=", start.FileName, StringComparison.Ordinal);
    }

    [Fact]
    public void ThePage_IsReadableByItsOwnerOnly_InAnOwnerOnlyFolder_PostsTheKey_AndIsDeletedWhenDone()
    {
        var folder = Path.Combine(_root.FullName, LaunchPage.FolderName);
        // A folder left by an earlier run under a looser umask is made owner-only too.
        Directory.CreateDirectory(folder);
        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(folder, (UnixFileMode)0b111_101_101);
        }

        var page = LaunchPage.Write(folder, Endpoint, Key);
        Assert.Equal(folder, Path.GetDirectoryName(page.Path));
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(page.Path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
        }

        var html = File.ReadAllText(page.Path);
        Assert.Contains("<form id=\"launch\" method=\"post\" action=\"http://127.0.0.1:45678/launch\">", html, StringComparison.Ordinal);
        Assert.Contains($"<input type=\"hidden\" name=\"key\" value=\"{Key}\">", html, StringComparison.Ordinal);
        Assert.DoesNotContain("?key=", html, StringComparison.Ordinal);
        Assert.Contains("name=\"referrer\" content=\"no-referrer\"", html, StringComparison.Ordinal);

        // Another launch never reuses a file.
        using (var second = LaunchPage.Write(folder, Endpoint, Key))
        {
            Assert.NotEqual(page.Path, second.Path);
        }

        page.Dispose();
        Assert.False(File.Exists(page.Path));
        page.Dispose();
    }

    [Fact]
    public void TheFolder_IsTheSessionsRuntimeFolder_ElseBesideTheKeyStore()
    {
        var store = Path.Combine(_root.FullName, "device", "device.mks");
        var runtime = Directory.CreateDirectory(Path.Combine(_root.FullName, "run")).FullName;
        Assert.Equal(Path.Combine(runtime, "messaging-app"), LaunchPage.FolderFor(store, name => name == "XDG_RUNTIME_DIR" ? runtime : null));
        Assert.Equal(Path.Combine(_root.FullName, "device", "messaging-app"), LaunchPage.FolderFor(store, _ => null));
        Assert.Equal(Path.Combine(_root.FullName, "device", "messaging-app"), LaunchPage.FolderFor(store, name => name == "XDG_RUNTIME_DIR" ? Path.Combine(runtime, "gone") : null));
        Assert.Equal(Path.Combine(_root.FullName, "device", "messaging-app"), LaunchPage.FolderFor(store, name => name == "XDG_RUNTIME_DIR" ? "relative" : null));
    }

    public void Dispose() => _root.Delete(recursive: true);
}
