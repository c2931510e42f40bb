using Microsoft.Extensions.Logging;
using NodaTime;

namespace Messaging.Scheduling.Availability;

/// <summary>Why an external feed was left out of a search.</summary>
public enum FeedProblemKind
{
    /// <summary>The feed did not answer within the timeout.</summary>
    Timeout,

    /// <summary>The connection failed or the server answered with an error status.</summary>
    Unreachable,

    /// <summary>The answer is not a usable iCalendar object.</summary>
    Malformed,

    /// <summary>The answer is larger than allowed.</summary>
    TooLarge,

    /// <summary>The URL is not an absolute https URL.</summary>
    NotHttps,

    /// <summary>The feed's host resolves to no public internet address (loopback, a private network, link-local …): the
    /// server does not connect to it (see <see cref="FeedHosts"/>).</summary>
    HostNotAllowed,
}

/// <summary>A feed left out of a search: whose (a member label) and why. The URL is not kept: private feed URLs carry
/// secrets.</summary>
public sealed record FeedProblem(string ParticipantLabel, FeedProblemKind Kind, string Message);

/// <summary>Options of the external feed fetch.</summary>
public sealed class CalendarFeedOptions
{
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    public int MaxBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Only tests against a loopback stand-in turn this off.</summary>
    public bool RequireHttps { get; set; } = true;

    /// <summary>
    /// Lets <see cref="CalendarFeedFetcher.CreateHandler"/> connect to loopback, private and link-local addresses. Off by
    /// default: a feed URL is chosen by a worker, and with this on a slot search can reach the server's own network.
    /// Only tests against a loopback stand-in turn it on.
    /// </summary>
    public bool AllowPrivateFeedHosts { get; set; }
}

/// <summary>
/// Fetches a participant's external calendar over HTTPS with a timeout and a size cap, and compiles it. A slow, failing
/// or malformed feed is reported as a <see cref="FeedProblem"/> (and logged without URL or content), never thrown: the
/// search goes on with what is known. The <see cref="HttpClient"/> given must run over <see cref="CreateHandler"/>: it
/// is what keeps feeds off loopback and private addresses.
/// </summary>
public sealed partial class CalendarFeedFetcher
{
    private readonly HttpClient _http;
    private readonly CalendarFeedOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<CalendarFeedFetcher> _logger;

    public CalendarFeedFetcher(HttpClient http, CalendarFeedOptions options, TimeProvider time, ILogger<CalendarFeedFetcher> logger)
    {
        _http = http ?? throw new ArgumentNullException(nameof(http));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>
    /// The handler feeds are fetched through: no redirects, the fetch timeout as connect timeout, and connections only to
    /// public addresses, checked on the address actually connected to (<see cref="FeedHosts.ConnectAsync"/>) unless
    /// <see cref="CalendarFeedOptions.AllowPrivateFeedHosts"/>. The caller owns it (and may set its TLS options).
    /// </summary>
    public static SocketsHttpHandler CreateHandler(CalendarFeedOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var allowPrivate = options.AllowPrivateFeedHosts;
        return new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectTimeout = options.Timeout,
            UseProxy = false,
            ConnectCallback = (context, cancellationToken) => FeedHosts.ConnectAsync(context.DnsEndPoint, allowPrivate, cancellationToken),
        };
    }

    /// <summary>The compiled feed, or the problem that kept it out.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (not a timeout).</exception>
    public async Task<(IcsBusyCalendar? Calendar, FeedProblem? Problem)> FetchAsync(string participantLabel, Uri url, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri || (_options.RequireHttps && url.Scheme != Uri.UriSchemeHttps))
        {
            return Fail(participantLabel, FeedProblemKind.NotHttps, "The calendar feed URL must be an absolute https URL.");
        }

        using var timeout = new CancellationTokenSource(_options.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        string text;
        try
        {
            using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return Fail(participantLabel, FeedProblemKind.Unreachable, $"The calendar feed answered HTTP {(int)response.StatusCode}.");
            }

            if (response.Content.Headers.ContentLength > _options.MaxBytes)
            {
                return Fail(participantLabel, FeedProblemKind.TooLarge, "The calendar feed is larger than allowed.");
            }

            var stream = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                using var buffer = new MemoryStream();
                var chunk = new byte[81920];
                int read;
                while ((read = await stream.ReadAsync(chunk, linked.Token).ConfigureAwait(false)) > 0)
                {
                    if (buffer.Length + read > _options.MaxBytes)
                    {
                        return Fail(participantLabel, FeedProblemKind.TooLarge, "The calendar feed is larger than allowed.");
                    }

                    buffer.Write(chunk, 0, read);
                }

                text = System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return Fail(participantLabel, FeedProblemKind.Timeout, $"The calendar feed did not answer within {_options.Timeout.TotalSeconds:0.#} s.");
        }
        catch (HttpRequestException e) when (e.InnerException is FeedHostNotAllowedException)
        {
            return Fail(participantLabel, FeedProblemKind.HostNotAllowed, "The calendar feed's host is not a public internet address.");
        }
        catch (HttpRequestException e)
        {
            var status = e.StatusCode is { } code ? $" ({(int)code})" : string.Empty;
            return Fail(participantLabel, FeedProblemKind.Unreachable, $"The calendar feed could not be reached{status}.");
        }

        try
        {
            return (IcsBusyCalendar.Parse(text, SlotSearch.Brussels), null);
        }
        catch (CalendarFeedMalformedException)
        {
            return Fail(participantLabel, FeedProblemKind.Malformed, "The calendar feed is not a valid iCalendar object.");
        }
    }

    /// <summary>
    /// A participant's availability with every feed that could be read; the others are listed in
    /// <see cref="ParticipantAvailability.FeedProblems"/>.
    /// </summary>
    public async Task<ParticipantAvailability> LoadAsync(string label, WorkingHours hours, Community community, IReadOnlyList<Interval> absences,
        IReadOnlyList<Interval> ownInterviews, IReadOnlyList<Uri> feeds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(feeds);
        var busy = new List<BusySource> { new FixedBusy(ownInterviews) };
        var problems = new List<FeedProblem>();
        var results = await Task.WhenAll(feeds.Select(f => FetchAsync(label, f, cancellationToken))).ConfigureAwait(false);
        foreach (var (calendar, problem) in results)
        {
            if (calendar is not null)
            {
                busy.Add(calendar);
            }

            if (problem is not null)
            {
                problems.Add(problem);
            }
        }

        return new ParticipantAvailability(label, hours, community, absences, busy, problems);
    }

    private (IcsBusyCalendar?, FeedProblem?) Fail(string label, FeedProblemKind kind, string message)
    {
        LogFeedProblem(label, kind);
        return (null, new FeedProblem(label, kind, message));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Calendar feed of participant {Participant} left out of the search: {Kind}")]
    private partial void LogFeedProblem(string participant, FeedProblemKind kind);
}
