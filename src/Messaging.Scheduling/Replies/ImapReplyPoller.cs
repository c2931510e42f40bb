using System.Runtime.ExceptionServices;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using MailKit.Security;
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

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Messages read per poll at most.</summary>
    public int BatchSize { get; set; } = 200;
}

/// <summary>
/// Polls the scheduling mailbox over IMAP (MailKit): every message of the inbox is read by the
/// <see cref="ReplyProcessor"/>, then moved to the processed or the refused folder, so a poll never reads a message
/// twice and nothing is lost if the process stops between two polls (a message is moved only after it was handled).
/// Two polls may overlap (two instances, a poll run by hand): a message that the other poll moved between this poll's
/// listing and its read or its move is left to that poll, which handled it too.
/// A job runs <see cref="PollOnceAsync"/> on a schedule.
/// </summary>
public sealed class ImapReplyPoller
{
    private readonly ImapOptions _options;
    private readonly ReplyProcessor _processor;

    public ImapReplyPoller(ImapOptions options, ReplyProcessor processor)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _processor = processor ?? throw new ArgumentNullException(nameof(processor));
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

            var outcome = _processor.Process(message);
            if (outcome.Reply is { } reply)
            {
                await handle(reply, cancellationToken).ConfigureAwait(false);
            }

            try
            {
                await inbox.MoveToAsync(uid, outcome.Reply is null ? refused : processed, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsGone(e))
            {
                await ThrowIfStillInInboxAsync(e, inbox, uid, cancellationToken).ConfigureAwait(false);
                // An overlapping poll moved it first, after handling it too: handing a reply over twice is harmless, as
                // applying one is idempotent (the same answer at the same SEQUENCE).
            }

            outcomes.Add(outcome);
        }

        await client.DisconnectAsync(true, cancellationToken).ConfigureAwait(false);
        return outcomes;
    }

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
