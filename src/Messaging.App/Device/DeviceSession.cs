using System.Collections.Concurrent;
using Messaging.Client;
using Messaging.Crypto.KeyStore;

namespace Messaging.App.Device;

/// <summary>Where the device stands for the browser.</summary>
public enum DeviceState
{
    /// <summary>No key store at the configured path: enrolment with a code.</summary>
    NotEnrolled,

    /// <summary>A key store exists but this process has not opened it yet.</summary>
    Closed,

    /// <summary>Open and connected, but the browser must give the passphrase again (idle lock or the lock button).</summary>
    Locked,

    /// <summary>Open, connected, and the browser may use it.</summary>
    Unlocked,
}

/// <summary>A message this app sent in this run, with what the server said about its delivery.</summary>
public sealed record SentMessage(Guid ConversationId, Guid EnvelopeId, string Text, DateTimeOffset AcceptedAt, int Recipients, int Unreachable);

/// <summary>
/// The one device this app owns while it runs: the SDK's <see cref="MessagingClient"/> over the encrypted key store
/// (whose exclusive lock keeps the CLI and other instances out), opened with the passphrase the worker types in the
/// browser. The idle lock does not close it — messages keep arriving and the store stays owned — it only hides
/// everything until the passphrase is given again, checked against the key store file itself.
/// </summary>
public sealed partial class DeviceSession(AppOptions options, TimeProvider time, ILogger<DeviceSession> logger) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Guid, byte> _changedMemberKeys = new();
    private readonly List<SentMessage> _sent = [];
    private MessagingClient? _client;
    private Contracts.EnrolmentCodeIssued? _issuedCode;
    private Task? _pump;
    private bool _locked;
    private long _lastActivityTicks;
    private long _version;
    private int _undecryptable;

    public DeviceState State
        => _client is null ? (File.Exists(options.StorePath) ? DeviceState.Closed : DeviceState.NotEnrolled)
            : _locked ? DeviceState.Locked : DeviceState.Unlocked;

    /// <summary>The open device; only for pages that run once the state is <see cref="DeviceState.Unlocked"/>.</summary>
    public MessagingClient Client => _client is { } client && !_locked ? client : throw new InvalidOperationException("The device is locked.");

    /// <summary>Grows with every change a page may want to show (a message arrived, a key changed): live views poll it.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>Envelopes that reached this device but could not be decrypted, in this run.</summary>
    public int Undecryptable => Volatile.Read(ref _undecryptable);

    /// <summary>Members whose signing key changed in this run (the SDK holds sends to them until confirmed).</summary>
    public IReadOnlyCollection<Guid> ChangedMemberKeys => [.. _changedMemberKeys.Keys];

    /// <summary>Counts a request of the worker as use (live polling does not).</summary>
    public void Touch() => Interlocked.Exchange(ref _lastActivityTicks, time.GetUtcNow().UtcTicks);

    /// <summary>Locks when the device was not used for the configured time; true when it is (now) locked.</summary>
    public bool LockIfIdle()
    {
        if (State == DeviceState.Unlocked && time.GetUtcNow().UtcTicks - Interlocked.Read(ref _lastActivityTicks) > options.IdleLock.Ticks)
        {
            _locked = true;
            LogIdleLock(logger);
        }

        return State == DeviceState.Locked;
    }

    public void Lock()
    {
        if (_client is not null)
        {
            _locked = true;
        }
    }

    /// <summary>Opens the key store (first unlock) or checks the passphrase against it (after a lock).</summary>
    /// <exception cref="KeyStoreAuthenticationException">Wrong passphrase.</exception>
    /// <exception cref="KeyStoreLockedException">Another process owns the device.</exception>
    public async Task UnlockAsync(string passphrase, CancellationToken cancellationToken)
    {
        using var secret = new Passphrase(passphrase);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_client is null)
            {
                var client = await MessagingClient.OpenAsync(options.StorePath, secret, ClientOptions(), cancellationToken);
                await StartAsync(client, cancellationToken);
            }
            else if (_locked)
            {
                // The store file is authenticated under the passphrase: loading it (no lock taken) proves it without
                // keeping a copy of the passphrase or of any hash of it in memory.
                using var payload = await new EncryptedKeyStore(options.StorePath).LoadAsync(secret, cancellationToken);
                _locked = false;
            }

            Touch();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Enrols this device with a one-time code and opens it.</summary>
    public async Task EnrolAsync(Uri server, string code, string passphrase, CancellationToken cancellationToken)
    {
        using var secret = new Passphrase(passphrase);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (State != DeviceState.NotEnrolled)
            {
                throw new InvalidOperationException("This device is already enrolled.");
            }

            Directory.CreateDirectory(Path.GetDirectoryName(options.StorePath)!);
            var client = await MessagingClient.EnrolAsync(server, code, options.StorePath, secret, ClientOptions(), cancellationToken);
            await StartAsync(client, cancellationToken);
            Touch();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Messages from others in <paramref name="conversationId"/> not yet shown on its page, among <paramref name="inbox"/>,
    /// given the device's read marks (<see cref="MessagingClient.GetReadMarksAsync"/>).</summary>
    public static int Unread(Guid conversationId, IEnumerable<InboxMessage> inbox, Guid me, IReadOnlyDictionary<Guid, long> readMarks)
    {
        var seen = readMarks.GetValueOrDefault(conversationId, -1);
        return inbox.Count(m => m.ConversationId == conversationId && m.SenderMemberId != me && m.Sequence > seen);
    }

    /// <summary>Marks what <paramref name="inbox"/> holds of <paramref name="conversationId"/> as read, in the device's
    /// encrypted local store (so a restart of the app does not show read messages as unread again).</summary>
    public Task MarkReadAsync(Guid conversationId, IEnumerable<InboxMessage> inbox, CancellationToken cancellationToken)
    {
        var latest = inbox.Where(m => m.ConversationId == conversationId).Select(m => m.Sequence).DefaultIfEmpty(-1).Max();
        return latest < 0 ? Task.CompletedTask : Client.MarkReadAsync(conversationId, latest, cancellationToken);
    }

    public void RecordSent(SentMessage message)
    {
        lock (_sent)
        {
            _sent.Add(message);
        }

        Interlocked.Increment(ref _version);
    }

    public IReadOnlyList<SentMessage> Sent(Guid conversationId)
    {
        lock (_sent)
        {
            return [.. _sent.Where(m => m.ConversationId == conversationId)];
        }
    }

    /// <summary>An enrolment code just issued, for the next administration page to show once.</summary>
    public void KeepIssuedCode(Contracts.EnrolmentCodeIssued code) => Interlocked.Exchange(ref _issuedCode, code);

    public Contracts.EnrolmentCodeIssued? TakeIssuedCode() => Interlocked.Exchange(ref _issuedCode, null);

    public void KeyConfirmed(Guid memberId)
    {
        _changedMemberKeys.TryRemove(memberId, out _);
        Interlocked.Increment(ref _version);
    }

    private async Task StartAsync(MessagingClient client, CancellationToken cancellationToken)
    {
        client.MemberKeyChanged += (_, member) =>
        {
            _changedMemberKeys[member] = 0;
            Interlocked.Increment(ref _version);
        };
        client.DeliveryFailed += (_, _) =>
        {
            Interlocked.Increment(ref _undecryptable);
            Interlocked.Increment(ref _version);
        };
        try
        {
            await client.ConnectAsync(cancellationToken);
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }

        _client = client;
        _locked = false;
        _pump = PumpAsync(client, _stopping.Token);
        LogOpened(logger);
    }

    private async Task PumpAsync(MessagingClient client, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var _ in client.Messages.ReadAllAsync(cancellationToken))
            {
                Interlocked.Increment(ref _version);
            }
        }
        catch (OperationCanceledException)
        {
            // The app is stopping.
        }
        catch (Exception ex) when (ex is MessagingClientException or Crypto.CryptoException)
        {
            // Never the message: it could carry content. The type says what broke.
            LogStopped(logger, ex.GetType().Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Locked after the idle time without use.")]
    private static partial void LogIdleLock(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device opened and connected.")]
    private static partial void LogOpened(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "The device stopped receiving: {Error}.")]
    private static partial void LogStopped(ILogger logger, string error);

    private MessagingClientOptions ClientOptions()
        => new() { Time = time, KeyStore = options.InteractiveKeyStoreCost ? KeyStoreOptions.Interactive : KeyStoreOptions.Default };

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        if (_pump is not null)
        {
            await _pump;
        }

        _stopping.Dispose();
        _gate.Dispose();
    }
}
