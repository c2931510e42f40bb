using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
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
/// Fixed windows on the injected clock: for every (policy, key, target) one counter holding the index of its window
/// (<c>floor(now / Window)</c>) and the calls counted in it. A call in a later window starts the count again, so a test
/// that advances its fake clock past a window gets a fresh budget. Counters of ended windows are dropped once per window,
/// off the caller's path.
/// <para>Not <c>System.Threading.RateLimiting</c>'s partitioned limiter: its timer visited every partition ten times a
/// second (with 2,000 devices sending, about 2.6 % of the server's CPU under the realistic load of issue 15) to replenish
/// windows that the window index already renews.</para>
/// </summary>
internal sealed class ClockWindowRateLimiter(IOptions<RateLimitOptions> options, TimeProvider time) : IRateLimiter
{
    private readonly ConcurrentDictionary<CounterKey, WindowCounter> _counters = new();
    private long _sweptIndex = long.MinValue;

    /// <summary>Counters held (tests).</summary>
    internal int Count => _counters.Count;

    public void Acquire(RateLimitPolicy policy, Guid key) => Acquire(policy, key, Guid.Empty);

    public void Acquire(RateLimitPolicy policy, Guid key, Guid target)
    {
        var settings = options.Value;
        var index = time.GetUtcNow().UtcTicks / settings.Window.Ticks;
        var limit = settings.LimitFor(policy);
        var counterKey = new CounterKey(policy, key, target);
        bool? taken;
        do
        {
            var counter = _counters.GetOrAdd(counterKey, static _ => new WindowCounter());
            taken = counter.TryTake(index, limit);
            if (taken is null)
            {
                // Retired by the sweep between the look-up and the count: out of the map (if the sweep has not yet taken
                // it out), and a fresh counter in its place.
                _counters.TryRemove(new KeyValuePair<CounterKey, WindowCounter>(counterKey, counter));
            }
        }
        while (taken is null);

        SweepOnce(index);
        if (taken == false)
        {
            throw new RateLimitedException($"Rate limit for {policy} reached; retry after {settings.Window}.");
        }
    }

    /// <summary>Drops the counters of ended windows, on the thread pool, the first time a call sees a new window.</summary>
    private void SweepOnce(long index)
    {
        var swept = Volatile.Read(ref _sweptIndex);
        if (index <= swept || Interlocked.CompareExchange(ref _sweptIndex, index, swept) != swept)
        {
            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(static state => state.Limiter.Sweep(state.Index), (Limiter: this, Index: index), preferLocal: false);
    }

    internal void Sweep(long index)
    {
        foreach (var (counterKey, counter) in _counters)
        {
            if (counter.TryRetire(index))
            {
                _counters.TryRemove(new KeyValuePair<CounterKey, WindowCounter>(counterKey, counter));
            }
        }
    }

    private readonly record struct CounterKey(RateLimitPolicy Policy, Guid Key, Guid Target);

    /// <summary>One key's count in its window. Locked per key: two calls of one device at once are the only contention.</summary>
    private sealed class WindowCounter
    {
        private readonly Lock _lock = new();
        private long _index = long.MinValue;
        private int _count;
        private bool _retired;

        /// <summary>True when counted, false when the window's budget is spent, null when retired (look it up again).</summary>
        public bool? TryTake(long index, int limit)
        {
            lock (_lock)
            {
                if (_retired)
                {
                    return null;
                }

                if (index != _index)
                {
                    // A later window (or, after the clock was set back, an earlier one): a new count.
                    (_index, _count) = (index, 0);
                }

                if (_count >= limit)
                {
                    return false;
                }

                _count++;
                return true;
            }
        }

        /// <summary>Retires the counter if its window ended before <paramref name="index"/>.</summary>
        public bool TryRetire(long index)
        {
            lock (_lock)
            {
                _retired = _index < index;
                return _retired;
            }
        }
    }
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
