using System.ComponentModel.DataAnnotations;

namespace Messaging.Server.Features.Telemetry;

/// <summary>Metrics and their Prometheus endpoint (section <c>Messaging:Telemetry</c>). The instruments always exist
/// (they cost an increment each); what this section decides is whether, and to whom, <c>/metrics</c> answers.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Messaging:Telemetry";

    /// <summary>Serve <see cref="MetricsPath"/> at all. Off by default: an operator turns it on and points a local agent at it.</summary>
    public bool MetricsEnabled { get; set; }

    /// <summary>Where the Prometheus text is served.</summary>
    [RegularExpression("^/[a-z0-9/_-]+$")]
    public string MetricsPath { get; set; } = "/metrics";

    /// <summary>
    /// The management port: when set, <see cref="MetricsPath"/> answers only on connections that arrived on this local
    /// port (add it to the server's listening URLs, bound to an internal interface, e.g. <c>http://10.0.0.5:9464</c>), and
    /// nowhere else — loopback included. When unset, it answers only to loopback clients (a scraper on the same machine)
    /// whose request carries no proxy header (<c>Forwarded</c>, <c>X-Forwarded-For</c>): a reverse proxy on the same host
    /// makes every public request look local. Every other request gets 404, as for a path that does not exist.
    /// </summary>
    [Range(1, 65535)]
    public int? ManagementPort { get; set; }

    /// <summary>How long the queue depth (copies waiting for their recipient device, one <c>COUNT(*)</c>) is reused
    /// between scrapes: a scrape counts again only when the last count is older than this. 0 counts at every scrape.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan QueueDepthMaxAge { get; set; } = TimeSpan.FromSeconds(15);
}
