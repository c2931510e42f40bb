using System.Runtime.ExceptionServices;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using MimeKit;
using Messaging.Scheduling.Delivery;

namespace Messaging.Scheduling.Replies;

/// <summary>The scheduling mailbox.</summary>
public sealed class ImapOptions
{
    public string Host { get; set; } = "localhost";

    public int Port { get; set; } = 993;

    public SecureSocketOptions Security { get; set; } = SecureSocketOptions.SslOnConnect;

    public string UserName { get; set; } = string.Empty;

    public Secret? Password { get; set; }

    /// <summary>Where read replies go (created when missing).</summary>
    public string ProcessedFolder { get; set; } = "Processed";

    /// <summary>Where refused messages go, for an operator to look at (created when missing).</summary>
    public string RefusedFolder { get; set; } = "Refused";

    /// <summary>Where a message goes whose reading or handing over threw unexpectedly (created when missing): an operator
    /// may move it back to the inbox once the cause is fixed, as applying a reply twice is harmless.</summary>
    public string FailedFolder { get; set; } = "Failed";

    /// <summary>How long a message stays in the processed folder after it reached the mailbox: the reply it carried is
    /// an answer on the participant's row by then, and its body (which may hold a free-text comment or a forwarded
    /// thread) is not kept longer than needed to look into a problem.</summary>
    public TimeSpan ProcessedRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long a message stays in the refused or the failed folder, for an operator to look at.</summary>
    public TimeSpan RefusedRetention { get; set; } = TimeSpan.FromDays(30);

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Messages read per poll at most.</summary>
    public int BatchSize { get; set; } = 200;
}

/// <summary>
/// Polls the scheduling mailbox over IMAP (MailKit): every message of the inbox is read by the
/// <see cref="ReplyProcessor"/>, then moved to the processed or the refused folder, so a poll never reads a message
/// twice and nothing is lost if the process stops between two polls (a message is moved only after it was handled).
/// A message whose reading or handing over throws (anything but the mailbox connection itself) is moved to the failed
/// folder, logged with the exception's type only, and the poll goes on: one bad message never blocks the ones after it.
/// Two polls may overlap (two instances, a poll run by hand): a message that the other poll moved between this poll's
/// listing and its read or its move is left to that poll, which handled it too.
/// Each poll then deletes (flags and expunges) what has stayed in the processed folder longer than
/// <see cref="ImapOptions.ProcessedRetention"/> and in the refused and failed folders longer than
/// <see cref="ImapOptions.RefusedRetention"/>, counted from the message's arrival in the mailbox (its IMAP internal
/// date, which a move keeps): the mailbox is not a second, unbounded store of reply bodies.
/// A job runs <see cref="PollOnceAsync"/> on a schedule.
/// </summary>
public sealed partial class ImapReplyPoller
{
    private readonly ImapOptions _options;
    private readonly ReplyProcessor _processor;
    private readonly ILogger<ImapReplyPoller> _logger;

    public ImapReplyPoller(ImapOptions options, ReplyProcessor processor, ILogger<ImapReplyPoller> logger)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _processor = processor ?? throw new ArgumentNullException(nameof(processor));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>Reads the inbox once; <paramref name="handle"/> receives each reply taken (before its message is moved).</summary>
    /// <returns>The outcome of every message read, in inbox order.</returns>
    /// <exception cref="AuthenticationException">The mailbox refused the credentials.</exception>
    /// <exception cref="IOException">The mailbox cannot be reached.</exception>
    public async Task<IReadOnlyList<ReplyOutcome>> PollOnceAsync(Func<ParticipantReply, CancellationToken, Task> handle, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handle);
        using var client = new ImapClient { Timeout = (int)_options.Timeout.TotalMilliseconds };
        await client.ConnectAsync(_options.Host, _options.Port, _options.Security, cancellationToken).ConfigureAwait(false);
        await client.AuthenticateAsync(_options.UserName, _options.Password?.Reveal() ?? string.Empty, cancellationToken).ConfigureAwait(false);

        var inbox = client.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadWrite, cancellationToken).ConfigureAwait(false);
        var processed = await FolderAsync(client, _options.ProcessedFolder, cancellationToken).ConfigureAwait(false);
        var refused = await FolderAsync(client, _options.RefusedFolder, cancellationToken).ConfigureAwait(false);
        var failed = await FolderAsync(client, _options.FailedFolder, cancellationToken).ConfigureAwait(false);

        var outcomes = new List<ReplyOutcome>();
        var uids = await inbox.SearchAsync(SearchQuery.All, cancellationToken).ConfigureAwait(false);
        foreach (var uid in uids.Take(_options.BatchSize))
        {
            MimeMessage message;
            try
            {
                message = await inbox.GetMessageAsync(uid, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsGone(e))
            {
                await ThrowIfStillInInboxAsync(e, inbox, uid, cancellationToken).ConfigureAwait(false);
                continue; // an overlapping poll took it after this one listed the inbox: that poll handles it
            }

            ReplyOutcome outcome;
            try
            {
                outcome = _processor.Process(message);
                if (outcome.Reply is { } reply)
                {
                    await handle(reply, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (!(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                // The message's content or the handler's store: the type says which, and never carries the content.
                LogFailed(e.GetType().FullName ?? e.GetType().Name);
                outcome = ReplyOutcome.Refused(ReplyRefusal.Failed);
            }

            var destination = outcome.Reply is not null ? processed : outcome.Refusal == ReplyRefusal.Failed ? failed : refused;
            try
            {
                await inbox.MoveToAsync(uid, destination, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsGone(e))
            {
                await ThrowIfStillInInboxAsync(e, inbox, uid, cancellationToken).ConfigureAwait(false);
                // An overlapping poll moved it first, after handling it too: handing a reply over twice is harmless, as
                // applying one is idempotent (the same answer at the same SEQUENCE).
            }

            outcomes.Add(outcome);
        }

        var uidPlus = client.Capabilities.HasFlag(ImapCapabilities.UidPlus);
        await PurgeAsync(processed, _options.ProcessedRetention, uidPlus, cancellationToken).ConfigureAwait(false);
        await PurgeAsync(refused, _options.RefusedRetention, uidPlus, cancellationToken).ConfigureAwait(false);
        await PurgeAsync(failed, _options.RefusedRetention, uidPlus, cancellationToken).ConfigureAwait(false);
        await client.DisconnectAsync(true, cancellationToken).ConfigureAwait(false);
        return outcomes;
    }

    /// <summary>
    /// Deletes the messages of <paramref name="folder"/> that arrived before <paramref name="retention"/> ago. The
    /// internal date is the mail server's own arrival time, so real time is the measure here, not a domain clock. IMAP
    /// compares whole days (SEARCH BEFORE): a message goes on the first poll of the day after its retention ends.
    /// </summary>
    private static async Task PurgeAsync(IMailFolder folder, TimeSpan retention, bool uidPlus, CancellationToken cancellationToken)
    {
        await folder.OpenAsync(FolderAccess.ReadWrite, cancellationToken).ConfigureAwait(false);
        var before = (TimeProvider.System.GetUtcNow() - retention).UtcDateTime.Date;
        var expired = await folder.SearchAsync(SearchQuery.DeliveredBefore(before), cancellationToken).ConfigureAwait(false);
        if (expired.Count > 0)
        {
            await folder.AddFlagsAsync(expired, MessageFlags.Deleted, true, cancellationToken).ConfigureAwait(false);
            if (uidPlus)
            {
                await folder.ExpungeAsync(expired, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // Without UIDPLUS every message flagged deleted in the folder goes: in these three folders, only ours.
                await folder.ExpungeAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await folder.CloseAsync(false, cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Scheduling mailbox: a message could not be handled ({ExceptionType}); moved to the failed folder")]
    private partial void LogFailed(string exceptionType);

    /// <summary>What IMAP answers for a message that another session expunged: a NO ("no longer exist") while this
    /// session has not yet been told, or no data at all after it has.</summary>
    private static bool IsGone(Exception e) => e is MessageNotFoundException or ImapCommandException { Response: ImapCommandResponse.No };

    /// <summary>Rethrows <paramref name="error"/> unless the message has indeed left the inbox: a refusal for any other
    /// reason stays a failure of the poll.</summary>
    private static async Task ThrowIfStillInInboxAsync(Exception error, IMailFolder inbox, UniqueId uid, CancellationToken cancellationToken)
    {
        if ((await inbox.SearchAsync(SearchQuery.Uids([uid]), cancellationToken).ConfigureAwait(false)).Count > 0)
        {
            ExceptionDispatchInfo.Throw(error);
        }
    }

    private static async Task<IMailFolder> FolderAsync(ImapClient client, string name, CancellationToken cancellationToken)
    {
        var root = client.GetFolder(client.PersonalNamespaces[0]);
        try
        {
            return await root.GetSubfolderAsync(name, cancellationToken).ConfigureAwait(false);
        }
        catch (FolderNotFoundException)
        {
            return await root.CreateAsync(name, true, cancellationToken).ConfigureAwait(false)
                ?? throw new IOException("The mailbox did not create the folder.");
        }
    }
}
