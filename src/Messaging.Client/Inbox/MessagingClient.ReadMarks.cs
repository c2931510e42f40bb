namespace Messaging.Client;

/// <summary>Read marks: how far the worker has read each conversation, kept on this device only (the server never
/// learns what was read), in the sealed local database beside the messages, so that they survive a restart.</summary>
public sealed partial class MessagingClient
{
    /// <summary>
    /// Records that the messages of <paramref name="conversationId"/> up to server sequence <paramref name="upToSequence"/>
    /// were read on this device. A mark only moves forward: a lower sequence than the one kept changes nothing (two pages
    /// open on the same conversation cannot make read messages unread again). Written to disk before it returns.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="upToSequence"/> is negative.</exception>
    public Task MarkReadAsync(Guid conversationId, long upToSequence, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(upToSequence);
        return _store.UnderLockAsync(() =>
        {
            var database = _store.Database;
            if (database.LoadReadMarks().TryGetValue(conversationId, out var kept) && kept >= upToSequence)
            {
                return false;
            }

            using var batch = database.Begin();
            batch.PutReadMark(conversationId, upToSequence);
            batch.Commit();
            return true;
        }, cancellationToken);
    }

    /// <summary>The read marks kept on this device: for each conversation read here, the highest server sequence read.
    /// A conversation never read is absent.</summary>
    /// <exception cref="LocalStoreCorruptedException">A stored mark does not open under this device's key.</exception>
    public Task<IReadOnlyDictionary<Guid, long>> GetReadMarksAsync(CancellationToken cancellationToken = default)
        => _store.UnderLockAsync<IReadOnlyDictionary<Guid, long>>(() => _store.Database.LoadReadMarks(), cancellationToken);
}
