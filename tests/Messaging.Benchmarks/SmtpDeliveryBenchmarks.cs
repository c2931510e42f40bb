using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using MailKit.Security;
using Messaging.Scheduling.Delivery;
using Messaging.Scheduling.Interviews;
using Messaging.Scheduling.Invitations;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using NodaTime;

namespace Messaging.Benchmarks;

/// <summary>
/// Invitations per second into the local SMTP test server (aiosmtpd, started by ops/scripts/deps.sh), through
/// <see cref="SmtpInvitationSender"/> with its delivery-id ledger on disk: a pool of 4 reused, authenticated connections
/// against one connection per message (the same pool with <see cref="SmtpOptions.MessagesPerConnection"/> = 1: connect,
/// EHLO, AUTH, send, QUIT for every message). 4 senders in parallel in both rows. One operation = one message.
/// Needs MESSAGING_TEST_SMTP_PORT/USER/PASSWORD (source ops/scripts/deps.sh and call deps_start first).
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class SmtpDeliveryBenchmarks
{
    private const int Batch = 200;
    private const int Parallel = 4;
    private string _ledger = string.Empty;
    private List<OutgoingInvitation> _messages = [];

    [Params(true, false)]
    public bool Pooled { get; set; }

    [IterationSetup]
    public void BuildBatch()
    {
        _ledger = Path.Combine(Path.GetTempPath(), "smtp-bench-" + Guid.NewGuid().ToString("N"));
        _messages = [];
        var organiser = Organiser.Create(Guid.NewGuid(), "org@bench.example", "CAPREV");
        var uids = new InvitationUids(InvitationUids.NewKey());
        while (_messages.Count < Batch)
        {
            var interview = Interview.Propose(Guid.NewGuid(), "ABCDEFGHIJKLMNOPQRSTUVWXYA", organiser,
                [Participant.Member(ParticipantRole.Worker, Guid.NewGuid(), "worker@bench.example"), Participant.ThePerson],
                Instant.FromUtc(2027, 3, 26, 9, 0), Duration.FromHours(1), InterviewPlace.ServiceAddress("Rue de la Loi 1, 1000 Bruxelles"));
            _messages.AddRange(InvitationMessage.Build(interview, ItipMethod.Request, new MailboxAddress("Planning", "planning@bench.example"),
                uids, Instant.FromUtc(2027, 3, 1, 8, 0)));
        }
    }

    [IterationCleanup]
    public void Cleanup() => Directory.Delete(_ledger, recursive: true);

    [Benchmark(OperationsPerInvoke = Batch)]
    public async Task SendBatch()
    {
        var options = new SmtpOptions
        {
            Host = "127.0.0.1",
            Port = int.Parse(Environment.GetEnvironmentVariable("MESSAGING_TEST_SMTP_PORT") ?? throw new InvalidOperationException("MESSAGING_TEST_SMTP_PORT is not set: run deps_start first."), CultureInfo.InvariantCulture),
            Security = SecureSocketOptions.None,
            UserName = Environment.GetEnvironmentVariable("MESSAGING_TEST_SMTP_USER"),
            Password = new Secret(Environment.GetEnvironmentVariable("MESSAGING_TEST_SMTP_PASSWORD") ?? string.Empty),
            PoolSize = Parallel,
            MessagesPerConnection = Pooled ? 1000 : 1,
        };
        await using var pool = new SmtpConnectionPool(options);
        var sender = new SmtpInvitationSender(pool, new FileDeliveryLedger(_ledger), options, TimeProvider.System, NullLogger<SmtpInvitationSender>.Instance);
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, Parallel).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < _messages.Count)
            {
                var result = await sender.SendAsync(_messages[i], CancellationToken.None).ConfigureAwait(false);
                if (result.Status != DeliveryStatus.Sent)
                {
                    throw new InvalidOperationException($"Delivery failed: {result.Status} {result.ReplyCode}");
                }
            }
        })).ConfigureAwait(false);
    }
}
