using System.Diagnostics.Metrics;

namespace Messaging.Server.Features.Telemetry;

/// <summary>
/// The server's instruments, one <see cref="Meter"/> (<see cref="MeterName"/>) made by the host's
/// <see cref="IMeterFactory"/>, so that two hosts in one process (the tests) keep their figures apart. No instrument
/// carries an id, a name or a case reference: the only labels are a refusal's error code (a constant of
/// <c>ErrorCodes</c>) and a job's type name.
/// <list type="bullet">
/// <item><c>messaging.connections</c> — hub connections open on this instance (up/down counter: a gauge).</item>
/// <item><c>messaging.envelopes.stored</c> — envelopes accepted and committed (a repeated send is not counted again).</item>
/// <item><c>messaging.envelopes.delivered</c> — recipient copies acknowledged by their device (delivery is final only
/// then; a push that is not acknowledged is sent again).</item>
/// <item><c>messaging.envelopes.pending</c> — copies waiting for their recipient device across the deployment (the
/// database's count, reused for <see cref="TelemetryOptions.QueueDepthMaxAge"/>; every instance reports the same figure).</item>
/// <item><c>messaging.jobs.lag</c> — seconds from a job's due time to the moment a worker starts it (label <c>job</c>).</item>
/// <item><c>messaging.refusals</c> — calls refused with a typed error (label <c>code</c>), over the hub and HTTP.</item>
/// </list>
/// </summary>
internal sealed class MessagingMetrics
{
    public const string MeterName = "Messaging.Server";

    private static readonly double[] LagBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

    private readonly UpDownCounter<long> _connections;
    private readonly Counter<long> _stored;
    private readonly Counter<long> _delivered;
    private readonly Counter<long> _refusals;
    private readonly Histogram<double> _jobLag;

    public MessagingMetrics(IMeterFactory meters, QueueDepth queueDepth)
    {
        var meter = meters.Create(MeterName);
        _connections = meter.CreateUpDownCounter<long>("messaging.connections", "{connection}", "Hub connections open on this instance.");
        _stored = meter.CreateCounter<long>("messaging.envelopes.stored", "{envelope}", "Envelopes accepted and committed.");
        _delivered = meter.CreateCounter<long>("messaging.envelopes.delivered", "{copy}", "Recipient copies acknowledged by their device.");
        _refusals = meter.CreateCounter<long>("messaging.refusals", "{call}", "Calls refused with a typed error, by error code.");
        _jobLag = meter.CreateHistogram("messaging.jobs.lag", "s", "From a job's due time to the start of its run.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LagBuckets });
        meter.CreateObservableGauge("messaging.envelopes.pending", queueDepth.Observe, "{copy}",
            "Copies waiting for their recipient device (deployment-wide; the last count).");
    }

    public void ConnectionOpened() => _connections.Add(1);

    public void ConnectionsClosed(int count) => _connections.Add(-count);

    public void EnvelopeStored() => _stored.Add(1);

    public void CopiesDelivered(int count)
    {
        if (count > 0)
        {
            _delivered.Add(count);
        }
    }

    /// <summary>A refusal, labelled by its stable error code only (never its message, which may name an id).</summary>
    public void Refused(string code) => _refusals.Add(1, new KeyValuePair<string, object?>("code", code));

    public void JobStarted(string job, TimeSpan lag) => _jobLag.Record(Math.Max(0, lag.TotalSeconds), new KeyValuePair<string, object?>("job", job));
}
