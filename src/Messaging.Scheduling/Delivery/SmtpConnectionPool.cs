using System.Collections.Concurrent;
using MailKit.Net.Smtp;

namespace Messaging.Scheduling.Delivery;

/// <summary>
/// A small pool of connected, authenticated <see cref="SmtpClient"/>s. An SmtpClient is not thread-safe: each is rented
/// by one sender at a time, and returned healthy (reused) or broken (closed and replaced on the next rent).
/// </summary>
public sealed class SmtpConnectionPool : IAsyncDisposable
{
    private readonly SmtpOptions _options;
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentBag<Pooled> _idle = [];
    private int _opened;

    public SmtpConnectionPool(SmtpOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _slots = new SemaphoreSlim(options.PoolSize, options.PoolSize);
    }

    /// <summary>Connections opened so far (a measure of reuse).</summary>
    public int ConnectionsOpened => Volatile.Read(ref _opened);

    internal sealed class Pooled(SmtpClient client)
    {
        public SmtpClient Client { get; } = client;

        public int Sent { get; set; }
    }

    /// <summary>A connected, authenticated client, for the caller alone until <see cref="ReturnAsync"/>.</summary>
    /// <exception cref="MailKit.Security.AuthenticationException">The relay refused the credentials.</exception>
    /// <exception cref="IOException">The relay cannot be reached.</exception>
    internal async Task<Pooled> RentAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (_idle.TryTake(out var pooled))
            {
                if (pooled.Client.IsConnected && pooled.Sent < _options.MessagesPerConnection)
                {
                    return pooled;
                }

                await CloseAsync(pooled).ConfigureAwait(false);
            }

            var client = new SmtpClient { Timeout = (int)_options.Timeout.TotalMilliseconds };
            try
            {
                // Our own socket, to turn Nagle off: SMTP is a lock-step dialogue of small writes, and Nagle against the
                // peer's delayed ACK costs up to 40 ms per command.
                var socket = await ConnectSocketAsync(cancellationToken).ConfigureAwait(false);
                await client.ConnectAsync(socket, _options.Host, _options.Port, _options.Security, cancellationToken).ConfigureAwait(false);
                if (_options.UserName is not null)
                {
                    await client.AuthenticateAsync(_options.UserName, _options.Password!.Reveal(), cancellationToken).ConfigureAwait(false);
                }
            }
            catch
            {
                client.Dispose();
                throw;
            }

            Interlocked.Increment(ref _opened);
            return new Pooled(client);
        }
        catch
        {
            _slots.Release();
            throw;
        }
    }

    /// <summary>Gives the client back: kept when <paramref name="healthy"/>, closed otherwise.</summary>
    internal async Task ReturnAsync(Pooled pooled, bool healthy)
    {
        try
        {
            if (healthy && pooled.Client.IsConnected)
            {
                _idle.Add(pooled);
            }
            else
            {
                await CloseAsync(pooled).ConfigureAwait(false);
            }
        }
        finally
        {
            _slots.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        while (_idle.TryTake(out var pooled))
        {
            await CloseAsync(pooled).ConfigureAwait(false);
        }

        _slots.Dispose();
    }

    private async Task<System.Net.Sockets.Socket> ConnectSocketAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        var addresses = await System.Net.Dns.GetHostAddressesAsync(_options.Host, timeout.Token).ConfigureAwait(false);
        Exception? last = null;
        foreach (var address in addresses)
        {
            var socket = new System.Net.Sockets.Socket(address.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp)
            {
                NoDelay = true,
            };
            try
            {
                await socket.ConnectAsync(address, _options.Port, timeout.Token).ConfigureAwait(false);
                return socket;
            }
            catch (System.Net.Sockets.SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                throw new TimeoutException($"The SMTP relay did not accept a connection within {_options.Timeout.TotalSeconds:0.#} s.");
            }
        }

        throw new IOException($"The SMTP relay {_options.Host}:{_options.Port} cannot be reached.", last);
    }

    private static async Task CloseAsync(Pooled pooled)
    {
        try
        {
            if (pooled.Client.IsConnected)
            {
                using var quit = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await pooled.Client.DisconnectAsync(true, quit.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or MailKit.ProtocolException or MailKit.CommandException)
        {
            // A broken connection is closed either way.
        }
        finally
        {
            pooled.Client.Dispose();
        }
    }
}
