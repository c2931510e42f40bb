using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using Messaging.Server.Errors;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.RateLimiting;

/// <summary>Every rate-limited operation, declared in one place. Each is counted per device (or per target device for
/// authentication attempts) in fixed windows of <see cref="RateLimitOptions.Window"/>.</summary>
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
/// Fixed-window counters on the injected clock (so tests control them). In-process: with several server instances
/// each enforces its own share; a shared limiter (Redis) can replace this class behind the same interface.
/// </summary>
internal interface IRateLimiter
{
    /// <summary>Counts one call; throws <see cref="RateLimitedException"/> when the window's budget is spent.</summary>
    void Acquire(RateLimitPolicy policy, Guid key);

    /// <summary>Counts one call for a pair of keys (a device and its target), separately from every other pair.</summary>
    void Acquire(RateLimitPolicy policy, Guid key, Guid target);
}

internal sealed class FixedWindowRateLimiter(IOptions<RateLimitOptions> options, TimeProvider time) : IRateLimiter
{
    private const int TrimThreshold = 50_000;
    private readonly ConcurrentDictionary<(RateLimitPolicy, Guid, Guid), Window> _windows = new();

    public void Acquire(RateLimitPolicy policy, Guid key) => Acquire(policy, key, Guid.Empty);

    public void Acquire(RateLimitPolicy policy, Guid key, Guid target)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var window = _windows.GetOrAdd((policy, key, target), _ => new Window());
        bool allowed;
        lock (window)
        {
            if (now - window.Start >= settings.Window || now < window.Start)
            {
                window.Start = now;
                window.Count = 0;
            }

            allowed = window.Count < settings.LimitFor(policy);
            if (allowed)
            {
                window.Count++;
            }
        }

        if (_windows.Count > TrimThreshold)
        {
            Trim(now, settings.Window);
        }

        if (!allowed)
        {
            throw new RateLimitedException($"Rate limit for {policy} reached; retry after {settings.Window}.");
        }
    }

    private void Trim(DateTimeOffset now, TimeSpan length)
    {
        foreach (var entry in _windows)
        {
            if (now - entry.Value.Start >= length)
            {
                _windows.TryRemove(entry.Key, out _);
            }
        }
    }

    private sealed class Window
    {
        public DateTimeOffset Start { get; set; } = DateTimeOffset.MinValue;

        public int Count { get; set; }
    }
}

internal static class RateLimitingExtensions
{
    public static IServiceCollection AddRateLimits(this IServiceCollection services)
    {
        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IRateLimiter, FixedWindowRateLimiter>();
        return services;
    }
}
