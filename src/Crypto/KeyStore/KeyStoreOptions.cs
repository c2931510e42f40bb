namespace Messaging.Crypto.KeyStore;

/// <summary>
/// Argon2id cost of a key store. Written into the file header (and authenticated as associated data),
/// so a store can be read back by a reader configured differently, within the accepted range.
/// </summary>
public sealed record KeyStoreOptions
{
    /// <summary>The lowest accepted number of Argon2id passes (libsodium's INTERACTIVE preset).</summary>
    public const uint MinimumOpsLimit = 2;

    /// <summary>The highest accepted number of Argon2id passes; larger values are refused as a denial of service.</summary>
    public const uint MaximumOpsLimit = 16;

    /// <summary>The lowest accepted Argon2id memory, in KiB: 64 MiB (libsodium's INTERACTIVE preset).</summary>
    public const uint MinimumMemoryKiB = 64 * 1024;

    /// <summary>The highest accepted Argon2id memory, in KiB: 4 GiB; larger values are refused as a denial of service.</summary>
    public const uint MaximumMemoryKiB = 4 * 1024 * 1024;

    /// <summary>Creates options after checking them against the accepted range.</summary>
    /// <param name="opsLimit">Argon2id passes, <see cref="MinimumOpsLimit"/>..<see cref="MaximumOpsLimit"/>.</param>
    /// <param name="memoryKiB">Argon2id memory in KiB, <see cref="MinimumMemoryKiB"/>..<see cref="MaximumMemoryKiB"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is outside the accepted range.</exception>
    public KeyStoreOptions(uint opsLimit, uint memoryKiB)
        : this(opsLimit, memoryKiB, KeyStoreLimits.Production)
    {
    }

    private KeyStoreOptions(uint opsLimit, uint memoryKiB, KeyStoreLimits limits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(opsLimit, limits.MinimumOpsLimit);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(opsLimit, MaximumOpsLimit);
        ArgumentOutOfRangeException.ThrowIfLessThan(memoryKiB, limits.MinimumMemoryKiB);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(memoryKiB, MaximumMemoryKiB);
        OpsLimit = opsLimit;
        MemoryKiB = memoryKiB;
    }

    /// <summary>The default: 3 passes over 256 MiB (libsodium's MODERATE preset), about a second on a laptop.</summary>
    public static KeyStoreOptions Default { get; } = new(3, 256 * 1024);

    /// <summary>The minimum: 2 passes over 64 MiB (libsodium's INTERACTIVE preset). For tests and weak devices.</summary>
    public static KeyStoreOptions Interactive { get; } = new(MinimumOpsLimit, MinimumMemoryKiB);

    /// <summary>Argon2id passes (crypto_pwhash opslimit).</summary>
    public uint OpsLimit { get; }

    /// <summary>Argon2id memory in KiB (crypto_pwhash memlimit / 1024).</summary>
    public uint MemoryKiB { get; }

    /// <summary>Options below the production minimum, for tests that run Argon2id hundreds of times.</summary>
    internal static KeyStoreOptions ForTesting(uint opsLimit, uint memoryKiB) => new(opsLimit, memoryKiB, KeyStoreLimits.Testing);
}

/// <summary>The lower bounds a key store accepts when writing and reading. Only tests lower them.</summary>
internal sealed record KeyStoreLimits(uint MinimumOpsLimit, uint MinimumMemoryKiB)
{
    public static KeyStoreLimits Production { get; } = new(KeyStoreOptions.MinimumOpsLimit, KeyStoreOptions.MinimumMemoryKiB);

    /// <summary>libsodium's own floor for Argon2id: 1 pass, 8 KiB.</summary>
    public static KeyStoreLimits Testing { get; } = new(1, 8);

    public bool Accepts(KeyStoreOptions options)
        => options.OpsLimit >= MinimumOpsLimit && options.MemoryKiB >= MinimumMemoryKiB;
}
