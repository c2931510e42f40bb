using System.Buffers.Binary;
using System.Text;
using Messaging.Crypto.KeyStore;
using Messaging.Crypto.Primitives;

namespace Messaging.Crypto.Tests.KeyStore;

public sealed class EncryptedKeyStoreTests : IDisposable
{
    private static readonly byte[] Payload = Encoding.UTF8.GetBytes("device keys and sessions");

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("keystore-tests-");

    private string StorePath => Path.Combine(_directory.FullName, "device.keys");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public async Task SaveAsync_ThenLoadAsync_WithInteractiveOptions_RoundTripsThePayload()
    {
        var store = new EncryptedKeyStore(StorePath, KeyStoreOptions.Interactive);
        using var passphrase = new Passphrase("correct horse battery staple");

        await store.SaveAsync(Payload, passphrase);
        using var loaded = await store.LoadAsync(passphrase);

        Assert.Equal(Payload, loaded.ToArray());
        Assert.True(store.Exists());
        Assert.False(File.Exists(store.TempPath));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(100_000)]
    public async Task SaveAsync_ThenLoadAsync_RoundTripsPayloadsOfAnyLength(int length)
    {
        var store = FastStore();
        var payload = Enumerable.Range(0, length).Select(i => (byte)(i * 31)).ToArray();
        using var passphrase = new Passphrase("pässwörd ✓");

        await store.SaveAsync(payload, passphrase);
        using var loaded = await store.LoadAsync(passphrase);

        Assert.Equal(payload, loaded.ToArray());
        Assert.Equal(KeyStoreFormat.MinimumFileLength + length, new FileInfo(StorePath).Length);
    }

    [Fact]
    public async Task SaveAsync_WritesTheDocumentedHeader()
    {
        var store = new EncryptedKeyStore(StorePath, KeyStoreOptions.Interactive);
        using var passphrase = new Passphrase("header");

        await store.SaveAsync(Payload, passphrase);
        var file = await File.ReadAllBytesAsync(StorePath);

        Assert.Equal("MKS1"u8.ToArray(), file[..4]);
        Assert.Equal(0x01, file[4]);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(5)));
        Assert.Equal(65536u, BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(9)));
        Assert.Equal(53 + Payload.Length + 16, file.Length);
    }

    [Fact]
    public async Task LoadAsync_WithWrongPassphrase_ThrowsAndLeavesFileIntact()
    {
        var store = new EncryptedKeyStore(StorePath, KeyStoreOptions.Interactive);
        using var right = new Passphrase("right");
        using var wrong = new Passphrase("wrong");
        await store.SaveAsync(Payload, right);
        var before = await File.ReadAllBytesAsync(StorePath);

        var error = await Assert.ThrowsAsync<KeyStoreAuthenticationException>(() => store.LoadAsync(wrong));

        Assert.Contains("wrong passphrase or the file was modified", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(StorePath));
        using var loaded = await store.LoadAsync(right);
        Assert.Equal(Payload, loaded.ToArray());
    }

    [Fact]
    public async Task LoadAsync_WithEveryTruncationOfTheFile_ThrowsATypedErrorAndLeavesTheFileIntact()
    {
        var store = FastStore();
        using var passphrase = new Passphrase("truncate me");
        await store.SaveAsync(Payload, passphrase);
        var original = await File.ReadAllBytesAsync(StorePath);

        for (var length = 0; length < original.Length; length++)
        {
            var truncated = original[..length];
            await File.WriteAllBytesAsync(StorePath, truncated);

            var error = await Assert.ThrowsAnyAsync<KeyStoreException>(() => store.LoadAsync(passphrase));

            // Below header + tag there is nothing to authenticate; above it, the tag no longer matches.
            var expected = length < KeyStoreFormat.MinimumFileLength
                ? typeof(KeyStoreCorruptedException)
                : typeof(KeyStoreAuthenticationException);
            Assert.True(expected == error.GetType(), $"length {length}: {error.GetType().Name}");
            Assert.Equal(truncated, await File.ReadAllBytesAsync(StorePath));
        }
    }

    [Fact]
    public async Task LoadAsync_WithAnySingleByteModified_ThrowsATypedErrorAndLeavesTheFileIntact()
    {
        // Lowered Argon2id cost (test seam) so that three masks over every position run in well under a second.
        await AssertEverySingleByteModificationIsRefusedAsync(FastStore(), [0x01, 0x80, 0xFF]);
    }

    [Fact]
    public async Task LoadAsync_OfAnInteractiveStoreWithAHeaderFieldOrAnEndOfEachRegionModified_ThrowsATypedError()
    {
        // The public, production-limited path, where the production limits on the parameters are checked: every byte
        // before the salt (magic, version, Argon2id parameters) and the first and last bytes of the salt, the nonce, the
        // ciphertext and the tag. A position that reaches the authentication costs an Argon2id run at 64 MiB (0.2-0.3 s),
        // so the positions between are left to the test above, which modifies every byte on the lowered path.
        await AssertEverySingleByteModificationIsRefusedAsync(new EncryptedKeyStore(StorePath, KeyStoreOptions.Interactive), [0x01], HeaderFieldsAndTheEndsOfEachRegion);
    }

    [Fact]
    public async Task LoadAsync_WithParametersRaisedWithinTheAcceptedRange_FailsAuthentication()
    {
        var store = new EncryptedKeyStore(StorePath, KeyStoreOptions.Interactive);
        using var passphrase = new Passphrase("header is authenticated");
        await store.SaveAsync(Payload, passphrase);
        var file = await File.ReadAllBytesAsync(StorePath);
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(KeyStoreFormat.OpsLimitOffset), 3);
        await File.WriteAllBytesAsync(StorePath, file);

        await Assert.ThrowsAsync<KeyStoreAuthenticationException>(() => store.LoadAsync(passphrase));
    }

    [Theory]
    [InlineData(1u, 65536u)]
    [InlineData(0u, 65536u)]
    [InlineData(2u, 65535u)]
    [InlineData(2u, 8u)]
    [InlineData(17u, 65536u)]
    [InlineData(2u, 4u * 1024 * 1024 + 1)]
    [InlineData(uint.MaxValue, uint.MaxValue)]
    public async Task LoadAsync_WithParametersOutsideTheAcceptedRange_IsRefusedAndLeavesTheFileIntact(uint opsLimit, uint memoryKiB)
    {
        var store = new EncryptedKeyStore(StorePath, KeyStoreOptions.Interactive);
        using var passphrase = new Passphrase("do not weaken me");
        await store.SaveAsync(Payload, passphrase);
        var file = await File.ReadAllBytesAsync(StorePath);
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(KeyStoreFormat.OpsLimitOffset), opsLimit);
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(KeyStoreFormat.MemoryOffset), memoryKiB);
        await File.WriteAllBytesAsync(StorePath, file);

        var error = await Assert.ThrowsAsync<KeyStoreParametersRejectedException>(() => store.LoadAsync(passphrase));

        Assert.Contains("Argon2id", error.Message, StringComparison.Ordinal);
        Assert.Equal(file, await File.ReadAllBytesAsync(StorePath));
    }

    [Fact]
    public async Task LoadAsync_OfAFileWrittenWithWeakParameters_IsRefusedByTheProductionStore()
    {
        using var passphrase = new Passphrase("weak");
        await FastStore().SaveAsync(Payload, passphrase);

        var strict = new EncryptedKeyStore(StorePath, KeyStoreOptions.Interactive);

        await Assert.ThrowsAsync<KeyStoreParametersRejectedException>(() => strict.LoadAsync(passphrase));
    }

    [Theory]
    [InlineData("MKS2")]
    [InlineData("XXXX")]
    public async Task LoadAsync_WithBadMagic_ThrowsKeyStoreCorruptedException(string magic)
    {
        var store = FastStore();
        using var passphrase = new Passphrase("magic");
        await store.SaveAsync(Payload, passphrase);
        var file = await File.ReadAllBytesAsync(StorePath);
        Encoding.ASCII.GetBytes(magic).CopyTo(file, 0);
        await File.WriteAllBytesAsync(StorePath, file);

        var error = await Assert.ThrowsAsync<KeyStoreCorruptedException>(() => store.LoadAsync(passphrase));

        Assert.Contains("magic", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x02)]
    [InlineData(0xFF)]
    public async Task LoadAsync_WithUnknownVersion_ThrowsKeyStoreCorruptedException(byte version)
    {
        var store = FastStore();
        using var passphrase = new Passphrase("version");
        await store.SaveAsync(Payload, passphrase);
        var file = await File.ReadAllBytesAsync(StorePath);
        file[KeyStoreFormat.VersionOffset] = version;
        await File.WriteAllBytesAsync(StorePath, file);

        var error = await Assert.ThrowsAsync<KeyStoreCorruptedException>(() => store.LoadAsync(passphrase));

        Assert.Contains("version", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoadAsync_WhenTheFileIsMissing_ThrowsKeyStoreNotFoundExceptionAndCreatesNothing()
    {
        var store = FastStore();
        using var passphrase = new Passphrase("nothing here");

        await Assert.ThrowsAsync<KeyStoreNotFoundException>(() => store.LoadAsync(passphrase));
        var inMissingDirectory = new EncryptedKeyStore(Path.Combine(_directory.FullName, "missing", "device.keys"));
        await Assert.ThrowsAsync<KeyStoreNotFoundException>(() => inMissingDirectory.LoadAsync(passphrase));

        Assert.Empty(_directory.GetFileSystemInfos());
    }

    [Fact]
    public async Task SaveAsync_WhenTheTemporaryFileCannotBeCreated_FailsAndLeavesThePreviousFileIntact()
    {
        var store = FastStore();
        using var passphrase = new Passphrase("atomic");
        await store.SaveAsync(Payload, passphrase);
        var before = await File.ReadAllBytesAsync(StorePath);
        Directory.CreateDirectory(store.TempPath);

        await Assert.ThrowsAnyAsync<Exception>(() => store.SaveAsync("replacement"u8.ToArray(), passphrase));

        Assert.Equal(before, await File.ReadAllBytesAsync(StorePath));
        Assert.True(Directory.Exists(store.TempPath));
        using var loaded = await store.LoadAsync(passphrase);
        Assert.Equal(Payload, loaded.ToArray());
    }

    [Fact]
    public async Task SaveAsync_WhenFailingAfterTheTemporaryFileIsWritten_LeavesThePreviousFileAndRemovesTheTemporaryFile()
    {
        using var passphrase = new Passphrase("atomic");
        await FastStore().SaveAsync(Payload, passphrase);
        var before = await File.ReadAllBytesAsync(StorePath);
        var failing = FastStore(beforeReplace: temp =>
        {
            Assert.True(File.Exists(temp));
            throw new IOException("simulated crash before the rename");
        });

        await Assert.ThrowsAsync<IOException>(() => failing.SaveAsync("replacement"u8.ToArray(), passphrase));

        Assert.Equal(before, await File.ReadAllBytesAsync(StorePath));
        Assert.False(File.Exists(failing.TempPath));
    }

    [Fact]
    public async Task SaveAsync_WhenCancelledBeforeTheRename_LeavesThePreviousFile()
    {
        using var passphrase = new Passphrase("atomic");
        await FastStore().SaveAsync(Payload, passphrase);
        var before = await File.ReadAllBytesAsync(StorePath);
        using var cancellation = new CancellationTokenSource();
        var store = FastStore(beforeReplace: _ => cancellation.Cancel());

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.SaveAsync("replacement"u8.ToArray(), passphrase, cancellation.Token));

        Assert.Equal(before, await File.ReadAllBytesAsync(StorePath));
        Assert.False(File.Exists(store.TempPath));
    }

    [Fact]
    public async Task SaveAsync_Twice_UsesAFreshSaltAndNonce()
    {
        var store = FastStore();
        using var passphrase = new Passphrase("resave");

        await store.SaveAsync(Payload, passphrase);
        var first = await File.ReadAllBytesAsync(StorePath);
        await store.SaveAsync(Payload, passphrase);
        var second = await File.ReadAllBytesAsync(StorePath);

        Assert.Equal(first[..KeyStoreFormat.SaltOffset], second[..KeyStoreFormat.SaltOffset]);
        Assert.NotEqual(first[KeyStoreFormat.SaltOffset..KeyStoreFormat.NonceOffset], second[KeyStoreFormat.SaltOffset..KeyStoreFormat.NonceOffset]);
        Assert.NotEqual(first[KeyStoreFormat.NonceOffset..KeyStoreFormat.HeaderLength], second[KeyStoreFormat.NonceOffset..KeyStoreFormat.HeaderLength]);
        Assert.NotEqual(first[KeyStoreFormat.HeaderLength..], second[KeyStoreFormat.HeaderLength..]);
        using var loaded = await store.LoadAsync(passphrase);
        Assert.Equal(Payload, loaded.ToArray());
    }

    [Fact]
    public async Task SaveAsync_OnUnix_LeavesTheFileReadableByItsOwnerOnly()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // A leftover temporary file with a lax mode must not pass its mode on.
        await File.WriteAllBytesAsync(Path.Combine(_directory.FullName, "device.keys.tmp"), [1, 2, 3]);
        File.SetUnixFileMode(Path.Combine(_directory.FullName, "device.keys.tmp"), (UnixFileMode)0b110_110_110);
        var store = FastStore();
        using var passphrase = new Passphrase("mode");

        await store.SaveAsync(Payload, passphrase);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(StorePath));
    }

    [Fact]
    public void Options_BelowTheInteractiveMinimum_AreRefusedByThePublicApi()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new KeyStoreOptions(1, 64 * 1024));
        Assert.Throws<ArgumentOutOfRangeException>(() => new KeyStoreOptions(2, (64 * 1024) - 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new KeyStoreOptions(17, 64 * 1024));
        Assert.Throws<ArgumentOutOfRangeException>(() => new KeyStoreOptions(2, (4u * 1024 * 1024) + 1));
        Assert.Throws<ArgumentException>(() => new EncryptedKeyStore(StorePath, KeyStoreOptions.ForTesting(1, 8)));
    }

    [Fact]
    public void Options_Presets_MatchLibsodiumModerateAndInteractive()
    {
        Assert.Equal(new KeyStoreOptions(3, 256 * 1024), KeyStoreOptions.Default);
        Assert.Equal(new KeyStoreOptions(2, 64 * 1024), KeyStoreOptions.Interactive);
        Assert.Equal(KeyStoreOptions.Default, new EncryptedKeyStore(StorePath).Options);
    }

    [Fact]
    public void Secrets_NeverPrintThemselves()
    {
        using var passphrase = new Passphrase("hunter2");
        using var secret = new SecretBytes(4);

        Assert.Equal("[REDACTED]", passphrase.ToString());
        Assert.Equal("[REDACTED]", secret.ToString());
        Assert.Equal("[REDACTED]", $"{passphrase}");
    }

    [Fact]
    public void Secrets_AfterDispose_AreZeroedAndUnusable()
    {
        var passphrase = new Passphrase("hunter2");
        var secret = new SecretBytes(4);
        "abcd"u8.CopyTo(secret.Writable);
        var buffer = secret.Writable;

        passphrase.Dispose();
        secret.Dispose();

        Assert.Equal(new byte[4], buffer.ToArray());
        Assert.Throws<ObjectDisposedException>(() => passphrase.Utf8Bytes.Length);
        Assert.Throws<ObjectDisposedException>(() => secret.Span.Length);
    }

    [Fact]
    public void Passphrase_EmptyOrWithALoneSurrogate_IsRefused()
    {
        // Not theory data: xunit's serializer would replace the lone surrogate before the test saw it.
        Assert.Throws<ArgumentException>(() => new Passphrase(string.Empty));
        Assert.Throws<ArgumentException>(() => new Passphrase("abc\udc00"));
        Assert.Throws<ArgumentException>(() => new Passphrase("\ud800def"));
    }

    [Fact]
    public void Passphrase_IsEncodedAsUtf8()
    {
        using var passphrase = new Passphrase("é€😀");

        Assert.Equal(Encoding.UTF8.GetBytes("é€😀"), passphrase.Utf8Bytes.ToArray());
    }

    /// <param name="store">The store to save and then read back modified.</param>
    /// <param name="masks">What each modified byte is XORed with.</param>
    /// <param name="positions">The positions to modify, given the file's length; every position when null.</param>
    private async Task AssertEverySingleByteModificationIsRefusedAsync(EncryptedKeyStore store, byte[] masks, Func<int, IEnumerable<int>>? positions = null)
    {
        using var passphrase = new Passphrase("flip me");
        await store.SaveAsync(Payload, passphrase);
        var original = await File.ReadAllBytesAsync(StorePath);

        foreach (var mask in masks)
        {
            foreach (var position in positions?.Invoke(original.Length) ?? Enumerable.Range(0, original.Length))
            {
                var tampered = (byte[])original.Clone();
                tampered[position] ^= mask;
                await File.WriteAllBytesAsync(StorePath, tampered);

                var error = await Assert.ThrowsAnyAsync<KeyStoreException>(() => store.LoadAsync(passphrase));

                var allowed = position switch
                {
                    < KeyStoreFormat.OpsLimitOffset => [typeof(KeyStoreCorruptedException)],
                    < KeyStoreFormat.SaltOffset => [typeof(KeyStoreParametersRejectedException), typeof(KeyStoreAuthenticationException)],
                    _ => new[] { typeof(KeyStoreAuthenticationException) },
                };
                Assert.True(allowed.Contains(error.GetType()), $"byte {position} ^ 0x{mask:x2}: {error.GetType().Name}");
                Assert.Equal(tampered, await File.ReadAllBytesAsync(StorePath));
            }
        }
    }

    /// <summary>Every position before the salt, then the first and last of the salt, nonce, ciphertext and tag.</summary>
    private static IEnumerable<int> HeaderFieldsAndTheEndsOfEachRegion(int fileLength)
    {
        var tag = fileLength - LibSodium.AeadTagBytes;
        int[] regionStarts = [KeyStoreFormat.SaltOffset, KeyStoreFormat.NonceOffset, KeyStoreFormat.HeaderLength, tag, fileLength];
        return Enumerable.Range(0, KeyStoreFormat.SaltOffset)
            .Concat(regionStarts.Zip(regionStarts.Skip(1)).SelectMany(region => new[] { region.First, region.Second - 1 }));
    }

    private EncryptedKeyStore FastStore(Action<string>? beforeReplace = null)
        => new(StorePath, KeyStoreOptions.ForTesting(1, 8), KeyStoreLimits.Testing, beforeReplace);
}
