using Messaging.Contracts;
using Messaging.Server.Errors;
using Messaging.Server.Features.RateLimiting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.Server.Tests;

/// <summary>The fixed-window limiter on the injected clock: budgets per policy, key and target, a fresh budget in the next
/// window, ended windows' counters dropped, and exactly the budget granted to calls racing on one key.</summary>
public sealed class ClockWindowRateLimiterTests
{
    private static readonly DateTimeOffset WindowStart = new(2031, 3, 1, 8, 0, 0, TimeSpan.Zero);

    private static (ClockWindowRateLimiter Limiter, FakeTimeProvider Clock) Create(int sends = 3)
    {
        var clock = new FakeTimeProvider(WindowStart);
        var options = Options.Create(new RateLimitOptions { SendsPerWindow = sends, PreKeyBundleFetchesPerTargetPerWindow = 2 });
        return (new ClockWindowRateLimiter(options, clock), clock);
    }

    [Fact]
    public void TheBudget_IsPerPolicyAndKey_AndRenewedInTheNextWindowOnly()
    {
        var (limiter, clock) = Create(sends: 3);
        var (device, other) = (Guid.NewGuid(), Guid.NewGuid());
        for (var i = 0; i < 3; i++)
        {
            limiter.Acquire(RateLimitPolicy.Send, device);
        }

        var refused = Assert.Throws<RateLimitedException>(() => limiter.Acquire(RateLimitPolicy.Send, device));
        Assert.Equal(ErrorCodes.RateLimited, refused.Code);
        limiter.Acquire(RateLimitPolicy.Send, other);
        limiter.Acquire(RateLimitPolicy.ConversationChange, device);

        clock.Advance(TimeSpan.FromMinutes(1) - TimeSpan.FromTicks(1));
        Assert.Throws<RateLimitedException>(() => limiter.Acquire(RateLimitPolicy.Send, device));
        clock.Advance(TimeSpan.FromTicks(1));
        for (var i = 0; i < 3; i++)
        {
            limiter.Acquire(RateLimitPolicy.Send, device);
        }

        Assert.Throws<RateLimitedException>(() => limiter.Acquire(RateLimitPolicy.Send, device));
    }

    [Fact]
    public void APairBudget_IsPerTarget()
    {
        var (limiter, _) = Create();
        var (device, first, second) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        limiter.Acquire(RateLimitPolicy.PreKeyBundleFetchPerTarget, device, first);
        limiter.Acquire(RateLimitPolicy.PreKeyBundleFetchPerTarget, device, first);
        Assert.Throws<RateLimitedException>(() => limiter.Acquire(RateLimitPolicy.PreKeyBundleFetchPerTarget, device, first));
        limiter.Acquire(RateLimitPolicy.PreKeyBundleFetchPerTarget, device, second);
    }

    [Fact]
    public void EndedWindows_AreDropped_AndTheCurrentOneKept()
    {
        var (limiter, clock) = Create(sends: 2);
        var devices = Enumerable.Range(0, 100).Select(_ => Guid.NewGuid()).ToList();
        devices.ForEach(d => limiter.Acquire(RateLimitPolicy.Send, d));
        Assert.Equal(100, limiter.Count);

        clock.Advance(TimeSpan.FromMinutes(1));
        var current = WindowStart.AddMinutes(1).UtcTicks / TimeSpan.FromMinutes(1).Ticks;
        limiter.Acquire(RateLimitPolicy.Send, devices[0]);
        limiter.Acquire(RateLimitPolicy.Send, devices[0]);
        limiter.Sweep(current);

        Assert.Equal(1, limiter.Count);
        Assert.Throws<RateLimitedException>(() => limiter.Acquire(RateLimitPolicy.Send, devices[0]));
    }

    [Fact]
    public async Task CallsRacingOnOneKey_WithSweepsBetweenThem_AreGrantedExactlyTheBudget()
    {
        const int Budget = 500;
        var (limiter, clock) = Create(sends: Budget);
        var device = Guid.NewGuid();
        for (var window = 0; window < 5; window++)
        {
            var index = clock.GetUtcNow().UtcTicks / TimeSpan.FromMinutes(1).Ticks;
            var granted = 0;
            using var start = new Barrier(4);
            var callers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
            {
                start.SignalAndWait();
                for (var i = 0; i < Budget; i++)
                {
                    try
                    {
                        limiter.Acquire(RateLimitPolicy.Send, device);
                        Interlocked.Increment(ref granted);
                    }
                    catch (RateLimitedException)
                    {
                    }

                    if (i % 50 == 0)
                    {
                        limiter.Sweep(index);
                    }
                }
            })).ToList();
            await Task.WhenAll(callers);

            Assert.Equal(Budget, granted);
            clock.Advance(TimeSpan.FromMinutes(1));
        }
    }
}
