using System.Text;
using Messaging.Crypto.KeyStore;

namespace Messaging.Crypto.Tests.KeyStore;

public sealed class UnlockedKeyStoreTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("unlocked-keystore-tests-");

    private string StorePath => Path.Combine(_directory.FullName, "device.keys");

    public void Dispose() => _directory.Delete(recursive: true);

    private EncryptedKeyStore FastStore() => new(StorePath, KeyStoreOptions.ForTesting(1, 8), KeyStoreLimits.Testing, beforeReplace: null);

    [Fact]
    public async Task SaveAsync_OfAnUnlockedStore_IsReadableWithThePassphraseAlone()
    {
        var store = FastStore();
        using var passphrase = new Passphrase("correct horse");
        using var unlocked = await store.CreateAsync(Encoding.UTF8.GetBytes("v1"), passphrase);

        for (var version = 2; version <= 4; version++)
        {
            await unlocked.SaveAsync(Encoding.UTF8.GetBytes($"v{version}"));
        }

        using var byPassphrase = await store.LoadAsync(passphrase);
        Assert.Equal("v4", Encoding.UTF8.GetString(byPassphrase.ToArray()));
        using var byKey = await unlocked.ReadAsync();
        Assert.Equal("v4", Encoding.UTF8.GetString(byKey.ToArray()));
    }

    [Fact]
    public async Task SaveAsync_OfAnUnlockedStore_KeepsTheSaltAndDrawsAFreshNonce()
    {
        var store = FastStore();
        using var passphrase = new Passphrase("correct horse");
        using var unlocked = await store.CreateAsync(new byte[8], passphrase);
        var first = await File.ReadAllBytesAsync(StorePath);
        await unlocked.SaveAsync(new byte[8]);
        var second = await File.ReadAllBytesAsync(StorePath);

        Assert.Equal(first.AsSpan(KeyStoreFormat.SaltOffset, 16).ToArray(), second.AsSpan(KeyStoreFormat.SaltOffset, 16).ToArray());
        Assert.NotEqual(first.AsSpan(KeyStoreFormat.NonceOffset, 24).ToArray(), second.AsSpan(KeyStoreFormat.NonceOffset, 24).ToArray());
        Assert.NotEqual(first, second);
    }

    [Fact]
    public async Task UnlockAsync_WithWrongPassphrase_ThrowsAndLeavesTheFileIntact()
    {
        var store = FastStore();
        using var passphrase = new Passphrase("right");
        await store.SaveAsync(new byte[8], passphrase);
        var before = await File.ReadAllBytesAsync(StorePath);
        using var wrong = new Passphrase("wrong");

        await Assert.ThrowsAsync<KeyStoreAuthenticationException>(() => store.UnlockAsync(wrong));
        Assert.Equal(before, await File.ReadAllBytesAsync(StorePath));
    }

    [Fact]
    public async Task ReadAsync_AfterTheFileWasModified_Throws()
    {
        var store = FastStore();
        using var passphrase = new Passphrase("right");
        using var unlocked = await store.CreateAsync(new byte[8], passphrase);
        var file = await File.ReadAllBytesAsync(StorePath);
        file[^1] ^= 1;
        await File.WriteAllBytesAsync(StorePath, file);

        await Assert.ThrowsAsync<KeyStoreAuthenticationException>(() => unlocked.ReadAsync());
    }

    [Fact]
    public async Task ReadAsync_AfterTheStoreWasRewrittenUnderANewSalt_AsksToUnlockAgain()
    {
        var store = FastStore();
        using var passphrase = new Passphrase("right");
        using var unlocked = await store.CreateAsync(new byte[8], passphrase);
        var elsewhere = new EncryptedKeyStore(Path.Combine(_directory.FullName, "other.keys"), KeyStoreOptions.ForTesting(1, 8), KeyStoreLimits.Testing, beforeReplace: null);
        await elsewhere.SaveAsync(new byte[8], passphrase);
        File.Copy(elsewhere.FilePath, StorePath, overwrite: true);

        await Assert.ThrowsAsync<KeyStoreAuthenticationException>(() => unlocked.ReadAsync());
    }

    [Fact]
    public async Task Dispose_MakesTheUnlockedStoreUnusable()
    {
        var store = FastStore();
        using var passphrase = new Passphrase("right");
        var unlocked = await store.CreateAsync(new byte[8], passphrase);
        unlocked.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => unlocked.SaveAsync(new byte[8]));
    }
}
