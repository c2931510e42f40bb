using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Messaging.Contracts;
using Messaging.Server.Errors;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Features.Connections;

/// <summary>
/// Connection ceilings and timeouts (section <c>Messaging:Connections</c>). Every open connection holds a file
/// descriptor; a process that reaches its descriptor limit cannot accept, open its database or start threads, and
/// Kestrel's accept loop spins on "too many open files" until the process dies ("Out of memory", exit 134). So the
/// ceilings are derived from the descriptor limit (<c>RLIMIT_NOFILE</c>, read from <c>/proc/self/limits</c>) unless
/// configured: limit − descriptors already open at start-up (the runtime holds two per loaded assembly, about 250) −
/// the reserve, split 80 % hub / 20 % other HTTP.
/// </summary>
public sealed class ConnectionLimitsOptions
{
    public const string Section = "Messaging:Connections";

    /// <summary>Most hub (WebSocket) connections at once; past it an upgrade request is answered 503 <c>server.busy</c>
    /// before the upgrade. 0 derives it: 80 % of (descriptor limit − descriptors open at start-up − reserve).</summary>
    [Range(0, 10_000_000)]
    public int MaxHubConnections { get; set; }

    /// <summary>Most plain HTTP connections at once, all listening addresses together (an upgraded connection leaves this
    /// count for the hub's). Past it new connections are closed at once. 0 derives it: the other 20 %.</summary>
    [Range(0, 10_000_000)]
    public int MaxHttpConnections { get; set; }

    /// <summary>Descriptors kept free, beyond those open at start-up, for assemblies loaded later, the database and its
    /// journal, logs and outbound connections: at least this many, and at least a tenth of the limit.</summary>
    [Range(16, 1_000_000)]
    public int DescriptorReserve { get; set; } = 256;

    /// <summary>Ceilings used when the descriptor limit cannot be read (not Linux) and none is configured.</summary>
    [Range(1, 10_000_000)]
    public int FallbackDescriptorLimit { get; set; } = 20_000;

    /// <summary>Time a connection has to send its request headers (Kestrel's <c>RequestHeadersTimeout</c>): an idle
    /// unauthenticated socket is closed after it.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Idle time after which a kept-alive HTTP connection is closed (Kestrel's <c>KeepAliveTimeout</c>).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time an upgraded hub connection has to complete the SignalR handshake before it is closed.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00")]
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the server pings an idle hub connection (SignalR's <c>KeepAliveInterval</c>): an idle
    /// connection's only traffic, with the SDK's own pings (<see cref="HubKeepAlive"/>). At most half the SDK's
    /// <see cref="HubKeepAlive.ServerTimeout"/>; above 15 s only once no SDK before 2026-11-28 (30 s timeout) connects.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:00:30")]
    public TimeSpan HubKeepAliveInterval { get; set; } = HubKeepAlive.ServerInterval;
}

/// <summary>The ceilings in force, computed once at start-up.</summary>
internal sealed partial class ConnectionCeiling
{
    public ConnectionCeiling(IOptions<ConnectionLimitsOptions> options, ILogger<ConnectionCeiling> logger)
    {
        var settings = options.Value;
        DescriptorLimit = ReadDescriptorLimit();
        var limit = (int)Math.Min(DescriptorLimit ?? settings.FallbackDescriptorLimit, 10_000_000);
        OpenAtStart = CountOpenDescriptors();
        var budget = Math.Max(2, limit - OpenAtStart - Math.Max(settings.DescriptorReserve, limit / 10));
        MaxHubConnections = settings.MaxHubConnections > 0 ? settings.MaxHubConnections : Math.Max(1, budget * 4 / 5);
        MaxHttpConnections = settings.MaxHttpConnections > 0 ? settings.MaxHttpConnections : Math.Max(1, budget - (budget * 4 / 5));
        LogCeiling(logger, MaxHubConnections, MaxHttpConnections, DescriptorLimit ?? -1, OpenAtStart);
    }

    /// <summary>Descriptors the process held when the ceilings were computed (0 when unknown).</summary>
    public int OpenAtStart { get; }

    /// <summary>The soft <c>RLIMIT_NOFILE</c>, or null when it cannot be read.</summary>
    public long? DescriptorLimit { get; }

    public int MaxHubConnections { get; }

    public int MaxHttpConnections { get; }

    /// <summary>The soft limit from a <c>/proc/self/limits</c> text ("Max open files  &lt;soft&gt;  &lt;hard&gt;  files").</summary>
    internal static long? ParseDescriptorLimit(string limits)
    {
        foreach (var line in limits.Split('\n'))
        {
            if (!line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                continue;
            }

            var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return fields.Length > 0 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var soft) && soft > 0 ? soft : null;
        }

        return null;
    }

    private static int CountOpenDescriptors()
    {
        try
        {
            return System.IO.Directory.Exists("/proc/self/fd") ? System.IO.Directory.GetFiles("/proc/self/fd").Length : 0;
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static long? ReadDescriptorLimit()
    {
        try
        {
            return File.Exists("/proc/self/limits") ? ParseDescriptorLimit(File.ReadAllText("/proc/self/limits")) : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Connection ceilings: {MaxHub} hub connections, {MaxHttp} other HTTP connections (descriptor limit {DescriptorLimit}, -1 when unknown; {OpenAtStart} open at start-up)")]
    private static partial void LogCeiling(ILogger logger, int maxHub, int maxHttp, long descriptorLimit, int openAtStart);
}

/// <summary>
/// Counts the requests on the hub path (a WebSocket request lasts as long as its connection) and answers 503
/// <c>server.busy</c> (with <c>Retry-After</c>) — before authentication and before the upgrade — once <see cref="ConnectionCeiling.MaxHubConnections"/>
/// are open. Logs one warning when the ceiling is reached, and again only after the count has fallen below 90 % of it.
/// </summary>
internal sealed partial class HubConnectionGate(ConnectionCeiling ceiling, IProblemDetailsService problemDetails, ILogger<HubConnectionGate> logger)
{
    private int _open;
    private int _saturated;

    public int Open => Volatile.Read(ref _open);

    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        if (!context.Request.Path.StartsWithSegments(HubRoutes.Messaging, StringComparison.Ordinal))
        {
            await next();
            return;
        }

        if (Interlocked.Increment(ref _open) > ceiling.MaxHubConnections)
        {
            Interlocked.Decrement(ref _open);
            if (Interlocked.Exchange(ref _saturated, 1) == 0)
            {
                LogSaturated(logger, ceiling.MaxHubConnections);
            }

            // Answered here rather than thrown: the exception handler's per-request diagnostics are not wanted under a flood.
            context.Response.Headers.RetryAfter = "5";
            await new ProblemDetailsExceptionHandler(problemDetails).TryHandleAsync(context,
                new ServerBusyException("The server is at its connection ceiling; retry later."), context.RequestAborted);
            return;
        }

        try
        {
            await next();
        }
        finally
        {
            if (Interlocked.Decrement(ref _open) < ceiling.MaxHubConnections * 9 / 10 && Volatile.Read(ref _saturated) == 1)
            {
                Interlocked.Exchange(ref _saturated, 0);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Hub connection ceiling of {Ceiling} reached: new hub connections are refused with 503 until some close")]
    private static partial void LogSaturated(ILogger logger, int ceiling);
}

/// <summary>
/// The plain-HTTP connection ceiling (<see cref="ConnectionCeiling.MaxHttpConnections"/>) for the whole process, across
/// every address it listens on. Kestrel's own <c>MaxConcurrentConnections</c> keeps a counter per listening endpoint, so
/// a server on a public and a management address held twice the budget and ran out of descriptors ("Out of memory" at
/// 2,373 hub connections under a 4,096 limit). Runs first on every accepted connection, on every endpoint: past the
/// ceiling the connection is closed at once, before any byte is read; an upgraded (WebSocket) connection leaves the count
/// the way it leaves Kestrel's (through <see cref="IDecrementConcurrentConnectionCountFeature"/>), the hub's own ceiling
/// and Kestrel's upgraded-connection limit — both process-wide — counting it from then on. One warning when the ceiling is
/// reached, again only after the count fell below 90 % of it.
/// </summary>
internal sealed partial class HttpConnectionGate(ConnectionCeiling ceiling, ILogger<HttpConnectionGate> logger)
{
    private int _open;
    private int _saturated;

    public int Open => Volatile.Read(ref _open);

    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        if (Interlocked.Increment(ref _open) > ceiling.MaxHttpConnections)
        {
            Interlocked.Decrement(ref _open);
            if (Interlocked.Exchange(ref _saturated, 1) == 0)
            {
                LogSaturated(logger, ceiling.MaxHttpConnections);
            }

            return; // Kestrel closes the connection when its delegate returns.
        }

        var counted = new Counted(this);
        connection.Features.Set<IDecrementConcurrentConnectionCountFeature>(counted);
        try
        {
            await next(connection);
        }
        finally
        {
            counted.ReleaseConnection();
        }
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref _open) < ceiling.MaxHttpConnections * 9 / 10 && Volatile.Read(ref _saturated) == 1)
        {
            Interlocked.Exchange(ref _saturated, 0);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "HTTP connection ceiling of {Ceiling} reached (all listening addresses together): new connections are closed until some close")]
    private static partial void LogSaturated(ILogger logger, int ceiling);

    /// <summary>Leaves the count once: when the connection is upgraded, or when it ends.</summary>
    private sealed class Counted(HttpConnectionGate gate) : IDecrementConcurrentConnectionCountFeature
    {
        private int _released;

        public void ReleaseConnection()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
            }
        }
    }
}

/// <summary>The server is at its connection ceiling: retry with back-off.</summary>
internal sealed class ServerBusyException(string message) : MessagingException(ErrorCodes.ServerBusy, message)
{
    public override int StatusCode => StatusCodes.Status503ServiceUnavailable;
}

internal static class ConnectionLimitsFeature
{
    public static IServiceCollection AddConnectionLimits(this IServiceCollection services)
    {
        services.AddOptions<ConnectionLimitsOptions>().BindConfiguration(ConnectionLimitsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ConnectionCeiling>();
        services.AddSingleton<HubConnectionGate>();
        services.AddSingleton<HttpConnectionGate>();
        services.AddOptions<KestrelServerOptions>().Configure<ConnectionCeiling, HttpConnectionGate, IOptions<ConnectionLimitsOptions>>((kestrel, ceiling, gate, options) =>
        {
            // Not Kestrel's MaxConcurrentConnections: it counts per listening endpoint. The gate counts for the process,
            // on every endpoint (those of --urls and configuration alike get the endpoint defaults).
            kestrel.Limits.MaxConcurrentConnections = null;
            kestrel.ConfigureEndpointDefaults(listen => listen.Use(next => connection => gate.OnConnectionAsync(connection, next)));
            kestrel.Limits.MaxConcurrentUpgradedConnections = ceiling.MaxHubConnections;
            kestrel.Limits.RequestHeadersTimeout = options.Value.RequestHeadersTimeout;
            kestrel.Limits.KeepAliveTimeout = options.Value.KeepAliveTimeout;
        });
        services.AddLogging(logging =>
        {
            // Kestrel logs a warning per connection it closes at MaxConcurrentConnections; under a flood that is one line
            // per attempt. The gate's single warning says it instead.
            logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel.Connections", LogLevel.Error);
        });
        return services;
    }

    /// <summary>Place before authentication, so that a refusal costs no database read.</summary>
    public static IApplicationBuilder UseConnectionCeiling(this IApplicationBuilder app)
    {
        var gate = app.ApplicationServices.GetRequiredService<HubConnectionGate>();
        return app.Use(next => context => gate.InvokeAsync(context, () => next(context)));
    }
}
