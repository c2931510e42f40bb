using System.ComponentModel.DataAnnotations;

namespace Messaging.Server.Features.Shutdown;

/// <summary>The drain when the host stops (section <c>Messaging:Shutdown</c>). Both are real elapsed time, and both must
/// fit in the host's own bound on a stop (<c>HostOptions.ShutdownTimeout</c>, 30 s by default).</summary>
public sealed class ShutdownOptions
{
    public const string Section = "Messaging:Shutdown";

    /// <summary>How long hub calls already running (sends among them) may take to finish once the drain starts; new calls
    /// are refused with <c>server.stopping</c> meanwhile. Past it the connections are closed anyway.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the connections stay open after the last running call finished: the time for its answer to be
    /// written out, and for clients still sending to read their <c>server.stopping</c> refusals, before the close.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan CloseDelay { get; set; } = TimeSpan.FromMilliseconds(250);
}
