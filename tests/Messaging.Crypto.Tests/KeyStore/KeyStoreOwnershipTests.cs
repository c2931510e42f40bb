using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using System.Text;
using Messaging.Crypto.KeyStore;

namespace Messaging.Crypto.Tests.KeyStore;

/// <summary>
/// Issue 9, defect 1: a device state has one owner at a time (an exclusive lock held from unlock to dispose), and
/// every save is a compare-and-swap, so a stale owner can never overwrite a newer state and reuse message keys.
/// The cross-process tests use flock(1) from util-linux, so the class is Linux-only.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class KeyStoreOwnershipTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("keystore-owner-tests-");

    private string StorePath => Path.Combine(_directory.FullName, "device.keys");

    public void Dispose() => _directory.Delete(recursive: true);

    private EncryptedKeyStore FastStore() => new(StorePath, KeyStoreOptions.ForTesting(1, 8), KeyStoreLimits.Testing, beforeReplace: null);

    [Fact]
    public async Task UnlockAsync_WhileTheStoreIsOpenInThisProcess_IsRefusedNamingThisProcess()
    {
        using var passphrase = new Passphrase("right");
        using var listener = await FastStore().CreateAsync(Encoding.UTF8.GetBytes("state"), passphrase);

        var error = await Assert.ThrowsAsync<KeyStoreLockedException>(() => FastStore().UnlockAsync(passphrase));

        Assert.Equal(Environment.ProcessId, error.HolderProcessId);
        Assert.Contains(Environment.ProcessId.ToString(CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<KeyStoreException>(error);
    }

    [Fact]
    public async Task CreateAsyncAndSaveAsync_WhileTheStoreIsOpen_AreRefusedAndWriteNothing()
    {
        using var passphrase = new Passphrase("right");
        using var listener = await FastStore().CreateAsync(Encoding.UTF8.GetBytes("state"), passphrase);
        var before = await File.ReadAllBytesAsync(StorePath);

        await Assert.ThrowsAsync<KeyStoreLockedException>(() => FastStore().CreateAsync(new byte[8], passphrase));
        await Assert.ThrowsAsync<KeyStoreLockedException>(() => FastStore().SaveAsync(new byte[8], passphrase));

        Assert.Equal(before, await File.ReadAllBytesAsync(StorePath));
    }

    [Fact]
    public async Task Dispose_ReleasesTheLock_SoTheNextOwnerCanOpenTheStore()
    {
        using var passphrase = new Passphrase("right");
        var first = await FastStore().CreateAsync(Encoding.UTF8.GetBytes("state"), passphrase);
        first.Dispose();

        using var second = await FastStore().UnlockAsync(passphrase);
        using var payload = await second.ReadAsync();
        Assert.Equal("state", Encoding.UTF8.GetString(payload.Span));
    }

    [Fact]
    public async Task UnlockAsync_WithAWrongPassphrase_ReleasesTheLock()
    {
        using var passphrase = new Passphrase("right");
        await FastStore().SaveAsync(new byte[8], passphrase);
        using var wrong = new Passphrase("wrong");

        await Assert.ThrowsAsync<KeyStoreAuthenticationException>(() => FastStore().UnlockAsync(wrong));

        using var unlocked = await FastStore().UnlockAsync(passphrase);
    }

    [Fact]
    public async Task UnlockAsync_OfAMissingStore_LeavesNoLockFileBehind()
    {
        using var passphrase = new Passphrase("right");

        await Assert.ThrowsAsync<KeyStoreNotFoundException>(() => FastStore().UnlockAsync(passphrase));

        Assert.Empty(_directory.GetFiles());
    }

    [Fact]
    public async Task TheLockFile_HoldsTheOwnersProcessId_AndIsPrivateToItsOwner()
    {
        using var passphrase = new Passphrase("right");
        var store = FastStore();
        using (await store.CreateAsync(new byte[8], passphrase))
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.LockFilePath));
        }

        // Readable once released (while held, any FileStream open is refused by the flock).
        Assert.Equal(Environment.ProcessId.ToString(CultureInfo.InvariantCulture), (await File.ReadAllTextAsync(store.LockFilePath)).Trim());
    }

    [Fact]
    public async Task UnlockAsync_WhileAnotherProcessHoldsTheLock_IsRefusedNamingThatProcess()
    {
        using var passphrase = new Passphrase("right");
        var store = FastStore();
        await store.SaveAsync(new byte[8], passphrase);

        // flock(1) takes flock(LOCK_EX) on the lock file and, without forking, becomes a shell that writes its own
        // process id into it, as a key store owner does, then keeps the lock while it sleeps.
        using var holder = StartFlock("--no-fork", store.LockFilePath, "/bin/sh", "-c", "echo $$ > \"$0\"; echo locked; exec sleep 60", store.LockFilePath);
        try
        {
            Assert.Equal("locked", await holder.StandardOutput.ReadLineAsync());

            var error = await Assert.ThrowsAsync<KeyStoreLockedException>(() => store.UnlockAsync(passphrase));

            Assert.Equal(holder.Id, error.HolderProcessId);
            Assert.Contains($"process {holder.Id.ToString(CultureInfo.InvariantCulture)}", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            holder.Kill();
            await holder.WaitForExitAsync();
        }

        // Once the other process is gone the store opens, and the lock file flock(1) created gets the owner-only mode.
        using var unlocked = await store.UnlockAsync(passphrase);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.LockFilePath));
    }

    [Fact]
    public async Task AnotherProcess_CannotTakeTheLock_UntilTheOwnerDisposesTheStore()
    {
        using var passphrase = new Passphrase("right");
        var store = FastStore();
        var owner = await store.CreateAsync(new byte[8], passphrase);

        Assert.Equal(75, await RunFlockAsync("--nonblock", "--conflict-exit-code", "75", store.LockFilePath, "true"));
        owner.Dispose();
        Assert.Equal(0, await RunFlockAsync("--nonblock", "--conflict-exit-code", "75", store.LockFilePath, "true"));
    }

    [Fact]
    public async Task SaveAsync_AfterAStaleWriterReplacedTheFile_IsRefusedAndWritesNothing()
    {
        // The defect: a listener's stale save replaced the sender's newer state. Here the file is replaced behind
        // the owner's back by an older copy (a stale writer, or a restored backup): the owner must not overwrite it.
        using var passphrase = new Passphrase("right");
        using var owner = await FastStore().CreateAsync(Encoding.UTF8.GetBytes("chain at 1"), passphrase);
        var older = await File.ReadAllBytesAsync(StorePath);
        await owner.SaveAsync(Encoding.UTF8.GetBytes("chain at 2"));
        await File.WriteAllBytesAsync(StorePath, older);

        await Assert.ThrowsAsync<KeyStoreConflictException>(() => owner.SaveAsync(Encoding.UTF8.GetBytes("chain at 3")));

        Assert.Equal(older, await File.ReadAllBytesAsync(StorePath));
        Assert.False(File.Exists(StorePath + ".tmp"));
    }

    [Fact]
    public async Task SaveAsync_AfterTheFileWasDeleted_IsRefusedAndWritesNothing()
    {
        using var passphrase = new Passphrase("right");
        using var owner = await FastStore().CreateAsync(new byte[8], passphrase);
        File.Delete(StorePath);

        await Assert.ThrowsAsync<KeyStoreConflictException>(() => owner.SaveAsync(new byte[8]));

        Assert.False(File.Exists(StorePath));
    }

    [Fact]
    public async Task SaveAsync_AfterReadingTheFileOnDisk_ReplacesThatFile()
    {
        // What was last read is what the next save expects: a caller that re-reads the state may save over it.
        using var passphrase = new Passphrase("right");
        using var owner = await FastStore().CreateAsync(Encoding.UTF8.GetBytes("one"), passphrase);
        var first = await File.ReadAllBytesAsync(StorePath);
        await owner.SaveAsync(Encoding.UTF8.GetBytes("two"));
        await File.WriteAllBytesAsync(StorePath, first);

        using (var reread = await owner.ReadAsync())
        {
            Assert.Equal("one", Encoding.UTF8.GetString(reread.Span));
        }

        await owner.SaveAsync(Encoding.UTF8.GetBytes("three"));
        using var loaded = await FastStore().LoadAsync(passphrase);
        Assert.Equal("three", Encoding.UTF8.GetString(loaded.Span));
    }

    [Fact]
    public async Task SuccessiveSaves_OfOneOwner_AllSucceed()
    {
        using var passphrase = new Passphrase("right");
        using var owner = await FastStore().CreateAsync(new byte[8], passphrase);

        for (var i = 0; i < 5; i++)
        {
            await owner.SaveAsync(Encoding.UTF8.GetBytes($"state {i}"));
        }

        using var loaded = await owner.ReadAsync();
        Assert.Equal("state 4", Encoding.UTF8.GetString(loaded.Span));
    }

    private static Process StartFlock(params string[] arguments)
    {
        var start = new ProcessStartInfo("flock") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("flock(1) did not start.");
    }

    private static async Task<int> RunFlockAsync(params string[] arguments)
    {
        using var process = StartFlock(arguments);
        await process.WaitForExitAsync();
        return process.ExitCode;
    }
}
