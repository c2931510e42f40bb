using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Telemetry;

/// <summary>
/// The queue depth: copies in <c>envelope_recipients</c>, each waiting for its device's acknowledgement. Counted by a
/// scrape (asynchronously, before the exporter reads the gauge) at most once per
/// <see cref="TelemetryOptions.QueueDepthMaxAge"/>, so that a busy scraper or several cannot turn it into a
/// <c>COUNT(*)</c> per request; the gauge itself only reads the last count. Nothing counts while nobody scrapes.
/// </summary>
internal sealed class QueueDepth(IDatabase database, TimeProvider time, IOptions<TelemetryOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private long _count;
    private DateTimeOffset? _countedAt;

    public long Observe() => Interlocked.Read(ref _count);

    /// <summary>Counts again when the last count is older than the configured age (or there is none yet).</summary>
    public async Task RefreshIfStaleAsync(CancellationToken cancellationToken)
    {
        await _refresh.WaitAsync(cancellationToken);
        try
        {
            var now = time.GetUtcNow();
            if (_countedAt is { } counted && now - counted < options.Value.QueueDepthMaxAge)
            {
                return;
            }

            var count = await database.ReadAsync(s => s.ScalarInt64Async("SELECT COUNT(*) FROM envelope_recipients;"), cancellationToken) ?? 0;
            Interlocked.Exchange(ref _count, count);
            _countedAt = now;
        }
        finally
        {
            _refresh.Release();
        }
    }

    public void Dispose() => _refresh.Dispose();
}
