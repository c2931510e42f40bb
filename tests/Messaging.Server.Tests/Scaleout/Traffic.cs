using System.Globalization;
using Messaging.Contracts;
using Messaging.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Messaging.Server.Tests.Scaleout;

/// <summary>A sender and a recipient in one conversation of a process deployment, each on the instance it was given.</summary>
public sealed class Pair : IAsyncDisposable
{
    private readonly IReadOnlyList<Guid> _recipientDevices;

    private Pair(CountingDevice sender, CountingDevice recipient, Guid conversation, IReadOnlyList<Guid> recipientDevices)
    {
        Sender = sender;
        Recipient = recipient;
        Conversation = conversation;
        _recipientDevices = recipientDevices;
    }

    public CountingDevice Sender { get; }

    public CountingDevice Recipient { get; }

    public Guid Conversation { get; }

    /// <summary>Two new workers of <paramref name="organisation"/>: the sender connected to <paramref name="senderOn"/>,
    /// the recipient to <paramref name="recipientOn"/>, and a conversation between them.</summary>
    public static async Task<Pair> StartAsync(ProcessDeployment deployment, TestOrganisation organisation, LimitedServerProcess senderOn, LimitedServerProcess recipientOn)
    {
        var sender = new CountingDevice(deployment, await deployment.EnrolWorkerAsync(senderOn, organisation));
        var recipient = new CountingDevice(deployment, await deployment.EnrolWorkerAsync(senderOn, organisation));
        await sender.ConnectAsync(senderOn);
        await recipient.ConnectAsync(recipientOn);
        var conversation = await sender.InvokeAsync<ConversationSummary>(nameof(IMessagingHub.CreateConversation),
            new CreateConversationRequest([recipient.Device.Member.Id], false));
        var devices = await sender.InvokeAsync<ConversationDevices>(nameof(IMessagingHub.GetConversationDevices),
            new GetConversationDevicesRequest(conversation.ConversationId));
        return new Pair(sender, recipient, conversation.ConversationId,
            [.. devices.Devices.Where(d => d.DeviceId != sender.Device.Id).Select(d => d.DeviceId)]);
    }

    /// <summary>A fresh envelope to the conversation's devices (random ciphertexts behind the version tag).</summary>
    public SendEnvelopeRequest NewEnvelope()
        => new(Guid.NewGuid(), Conversation, EnvelopeKind.Chat, [.. _recipientDevices.Select(d => new RecipientCiphertext(d, Ciphertexts.Random(64)))]);

    /// <summary>Sends <paramref name="count"/> envelopes one after the other, each retried until accepted, pausing
    /// <paramref name="pause"/> between them.</summary>
    public async Task SendAsync(int count, TimeSpan pause = default)
    {
        for (var i = 0; i < count; i++)
        {
            await Sender.SendUntilAcceptedAsync(NewEnvelope());
            if (pause > TimeSpan.Zero)
            {
                await Task.Delay(pause);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Sender.DisposeAsync();
        await Recipient.DisposeAsync();
    }
}

/// <summary>What the clients counted, over every pair of a test: printed in the test output, then asserted.</summary>
public sealed record TrafficFigures(int Acknowledged, int Delivered, int Lost, int Duplicated, int Repeats, int Refused, int Reconnections, string RefusedBy)
{
    /// <summary>Waits until each recipient has everything its sender got acknowledged (or 30 s), then counts: lost =
    /// acknowledged but never delivered; duplicated = delivered again, on a later connection, after the server had
    /// confirmed the recipient's acknowledgement (it kept an acknowledged envelope pending); repeats = every other second
    /// push of an id (crossings the protocol allows, dropped by the client's id check as the client SDK does).</summary>
    public static async Task<TrafficFigures> CountAsync(IReadOnlyList<Pair> pairs, ITestOutputHelper output, string test, ProcessDeployment? deployment = null)
    {
        if (deployment is not null)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{test}: the deployment started in {deployment.StartupTime.TotalSeconds:F1} s"));
        }

        foreach (var pair in pairs)
        {
            await pair.Recipient.WaitForAsync(pair.Sender.Accepted);
        }

        await Task.Delay(300); // anything still in flight would count as a duplicate
        var acknowledged = pairs.Sum(p => p.Sender.Accepted.Count);
        var delivered = pairs.Sum(p => p.Recipient.Delivered.Count(p.Sender.Accepted.Contains));
        var lost = pairs.Sum(p => p.Sender.Accepted.Except(p.Recipient.Delivered).Count());
        var unexpected = pairs.Sum(p => p.Recipient.Delivered.Except(p.Sender.Accepted).Count());
        var refusals = pairs.SelectMany(p => p.Sender.Refusals).GroupBy(r => r.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key} ×{g.Sum(r => r.Value)}").ToList();
        var figures = new TrafficFigures(acknowledged, delivered, lost, pairs.Sum(p => p.Recipient.RedeliveredAfterAcknowledgement),
            pairs.Sum(p => p.Recipient.Repeats), pairs.SelectMany(p => p.Sender.Refusals.Values).Sum(),
            pairs.Sum(p => p.Sender.Reconnections + p.Recipient.Reconnections), refusals.Count == 0 ? "none" : string.Join(", ", refusals));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{test}: acknowledged {figures.Acknowledged}, delivered {figures.Delivered}, lost {figures.Lost}, duplicated {figures.Duplicated} "
            + $"(repeats dropped by id {figures.Repeats}; sends refused then retried {figures.Refused}: {figures.RefusedBy}; reconnections {figures.Reconnections}; "
            + $"delivered without an acknowledged send {unexpected})"));
        Assert.Equal(0, unexpected);
        return figures;
    }
}
