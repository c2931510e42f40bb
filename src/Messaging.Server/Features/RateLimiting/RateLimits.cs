using System.ComponentModel.DataAnnotations;
using System.Threading.RateLimiting;
using Messaging.Server.Errors;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.RateLimiting;

/// <summary>Every rate-limited operation, declared in one place. Each is counted per device (or per target device for
/// authentication attempts) in fixed windows of <see cref="RateLimitOptions.Window"/> on the injected clock.</summary>
internal enum RateLimitPolicy
{
    /// <summary>Envelope sends per sending device.</summary>
    Send,

    /// <summary>Prekey-bundle fetches per requesting device (each may consume one-time prekeys).</summary>
    PreKeyBundleFetch,

    /// <summary>Prekey uploads and signed-prekey rotations per device.</summary>
    PreKeyUpload,

    /// <summary>Challenge and token requests per target device.</summary>
    Authentication,

    /// <summary>Conversation creations and membership changes per device.</summary>
    ConversationChange,

    /// <summary>Prekey-bundle fetches per (requesting device, target member): one device cannot drain one member's
    /// one-time prekeys.</summary>
    PreKeyBundleFetchPerTarget,

    /// <summary>Attachment uploads per device.</summary>
    AttachmentUpload,
}

/// <summary>Limits per window (section <c>Messaging:RateLimits</c>).</summary>
public sealed class RateLimitOptions
{
    public const string Section = "Messaging:RateLimits";

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    [Range(1, 1_000_000)]
    public int SendsPerWindow { get; set; } = 600;

    [Range(1, 1_000_000)]
    public int PreKeyBundleFetchesPerWindow { get; set; } = 120;

    [Range(1, 1_000_000)]
    public int PreKeyUploadsPerWindow { get; set; } = 30;

    [Range(1, 1_000_000)]
    public int AuthenticationAttemptsPerWindow { get; set; } = 20;

    [Range(1, 1_000_000)]
    public int ConversationChangesPerWindow { get; set; } = 60;

    /// <summary>Bundle fetches of one member by one device. A client fetches a member's bundles once per session set-up
    /// (again only when that member adds a device), so a handful is plenty.</summary>
    [Range(1, 1_000_000)]
    public int PreKeyBundleFetchesPerTargetPerWindow { get; set; } = 5;

    [Range(1, 1_000_000)]
    public int AttachmentUploadsPerWindow { get; set; } = 30;

    internal int LimitFor(RateLimitPolicy policy) => policy switch
    {
        RateLimitPolicy.Send => SendsPerWindow,
        RateLimitPolicy.PreKeyBundleFetch => PreKeyBundleFetchesPerWindow,
        RateLimitPolicy.PreKeyUpload => PreKeyUploadsPerWindow,
        RateLimitPolicy.Authentication => AuthenticationAttemptsPerWindow,
        RateLimitPolicy.ConversationChange => ConversationChangesPerWindow,
        RateLimitPolicy.PreKeyBundleFetchPerTarget => PreKeyBundleFetchesPerTargetPerWindow,
        RateLimitPolicy.AttachmentUpload => AttachmentUploadsPerWindow,
        _ => throw new ArgumentOutOfRangeException(nameof(policy)),
    };
}

/// <summary>
/// The policy registry's enforcement. In-process: with several server instances each enforces its own share; a shared
/// limiter (Redis) can replace the implementation behind the same interface.
/// </summary>
internal interface IRateLimiter
{
    /// <summary>Counts one call; throws <see cref="RateLimitedException"/> when the window's budget is spent.</summary>
    void Acquire(RateLimitPolicy policy, Guid key);

    /// <summary>Counts one call for a pair of keys (a device and its target), separately from every other pair.</summary>
    void Acquire(RateLimitPolicy policy, Guid key, Guid target);
}

/// <summary>
/// Fixed windows from <c>System.Threading.RateLimiting</c>: one <see cref="PartitionedRateLimiter{TResource}"/> whose
/// partitions are fixed-window limiters keyed by policy, key, target and the window's index on the injected clock
/// (<c>floor(now / Window)</c>). The platform limiter measures time with its own stopwatch, not a
/// <see cref="TimeProvider"/>; keying by the window index puts the window boundaries on the injected clock instead (a
/// test that advances its fake clock past a window gets a fresh budget), while the platform counts, replenishes after a
/// real window and drops idle partitions.
/// </summary>
internal sealed class ClockWindowRateLimiter : IRateLimiter, IDisposable
{
    private readonly IOptions<RateLimitOptions> _options;
    private readonly TimeProvider _time;
    private readonly PartitionedRateLimiter<WindowKey> _limiter;

    public ClockWindowRateLimiter(IOptions<RateLimitOptions> options, TimeProvider time)
    {
        _options = options;
        _time = time;
        _limiter = PartitionedRateLimiter.Create<WindowKey, WindowKey>(key => RateLimitPartition.GetFixedWindowLimiter(key, k =>
            new FixedWindowRateLimiterOptions
            {
                PermitLimit = options.Value.LimitFor(k.Policy),
                Window = options.Value.Window,
                QueueLimit = 0,
                AutoReplenishment = false, // the partitioned limiter's own timer replenishes (and retires) partitions
            }));
    }

    public void Acquire(RateLimitPolicy policy, Guid key) => Acquire(policy, key, Guid.Empty);

    public void Acquire(RateLimitPolicy policy, Guid key, Guid target)
    {
        var window = _options.Value.Window;
        var index = _time.GetUtcNow().UtcTicks / window.Ticks;
        using var lease = _limiter.AttemptAcquire(new WindowKey(policy, key, target, index));
        if (!lease.IsAcquired)
        {
            throw new RateLimitedException($"Rate limit for {policy} reached; retry after {window}.");
        }
    }

    public void Dispose() => _limiter.Dispose();

    private readonly record struct WindowKey(RateLimitPolicy Policy, Guid Key, Guid Target, long Index);
}

internal static class RateLimitingExtensions
{
    public static IServiceCollection AddRateLimits(this IServiceCollection services)
    {
        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IRateLimiter, ClockWindowRateLimiter>();
        return services;
    }
}
