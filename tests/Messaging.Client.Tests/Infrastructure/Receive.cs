namespace Messaging.Client.Tests.Infrastructure;

internal static class Receive
{
    /// <summary>Reads the next message a device publishes, or fails after <paramref name="seconds"/>.</summary>
    public static async Task<InboxMessage> NextAsync(this MessagingClient client, int seconds = 15)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        return await client.Messages.ReadAsync(timeout.Token);
    }

    /// <summary>Waits until the device's inbox satisfies <paramref name="condition"/>.</summary>
    public static async Task<IReadOnlyList<InboxMessage>> InboxWhenAsync(this MessagingClient client, Func<IReadOnlyList<InboxMessage>, bool> condition, int seconds = 30)
    {
        var elapsed = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var inbox = await client.GetInboxAsync();
            if (condition(inbox))
            {
                return inbox;
            }

            Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(seconds), $"the inbox did not reach the expected state in {seconds} s (has {inbox.Count})");
            await Task.Delay(100);
        }
    }
}
