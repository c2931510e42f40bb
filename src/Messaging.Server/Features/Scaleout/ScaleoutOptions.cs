using System.ComponentModel.DataAnnotations;

namespace Messaging.Server.Features.Scaleout;

/// <summary>
/// Several server instances serving one population of devices (section <c>Messaging:Scaleout</c>): the SignalR backplane
/// and the revocation channel on Redis. Off by default (no <see cref="Redis"/>): the embedded mode, one instance. Redis
/// only carries messages in transit; the database holds every undelivered envelope.
/// </summary>
public sealed class ScaleoutOptions : IValidatableObject
{
    public const string Section = "Messaging:Scaleout";

    /// <summary>The StackExchange.Redis configuration string (<c>host:port,password=…,ssl=true</c>). It may hold a
    /// password: it is never logged, and a validation error never quotes it. Empty: scale-out is off.</summary>
    public string? Redis { get; set; }

    /// <summary>The prefix of every Redis channel this deployment uses, so that several deployments can share one Redis.</summary>
    [Required]
    [RegularExpression(@"^[A-Za-z0-9._-]{1,64}$")]
    public string ChannelPrefix { get; set; } = "messaging";

    /// <summary>When Redis comes back, each instance pushes to each device connected to it what stayed pending while
    /// pushes could not pass: at once, after this delay (two seconds at least, for the others' subscriptions to be
    /// restored), then five and ten seconds after the first sweep.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan CatchUpDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the readiness probe waits for Redis's answer to a PING.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:00:30")]
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    public bool Enabled => !string.IsNullOrWhiteSpace(Redis);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Enabled)
        {
            yield break;
        }

        string? problem = null;
        try
        {
            _ = StackExchange.Redis.ConfigurationOptions.Parse(Redis!);
        }
        catch (ArgumentException)
        {
            // The parser's message may quote the string (and its password): say only which setting is wrong.
            problem = "Redis is not a valid StackExchange.Redis configuration string.";
        }

        if (problem is not null)
        {
            yield return new ValidationResult(problem, [nameof(Redis)]);
        }
    }
}
